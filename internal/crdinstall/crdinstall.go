// Package crdinstall puts CustomResourceDefinitions into a cluster and waits until the API
// server serves them: Aviary's and the Gateway API's, for the local sandbox, the integration
// tests' API server and the gateway benchmark.
package crdinstall

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	crdclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// establishTimeout bounds the wait for one CRD to be Established; the API server takes well
// under a second, the margin is for a loaded machine.
const establishTimeout = 30 * time.Second

// ManifestDigestAnnotation records the digest of the manifest a CRD was installed from, so
// that installing the same manifests again updates nothing: updating every CRD of a second
// sandbox up took seconds.
const ManifestDigestAnnotation = "aviary.dev/local-manifest-sha256"

// Read returns the CustomResourceDefinitions in the files of fsys matching glob, in file
// order. Documents of other kinds are skipped: the Gateway API ships a
// ValidatingAdmissionPolicy beside its CRDs that only guards upgrades between its channels.
// A CRD document with a field its type does not have is an error, not a silent drop.
func Read(fsys fs.FS, glob string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		found, err := crdsIn(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		crds = append(crds, found...)
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s: run `make generate`", glob)
	}
	return crds, nil
}

// crdsIn decodes the CustomResourceDefinition documents of one YAML stream.
func crdsIn(data []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var crds []*apiextensionsv1.CustomResourceDefinition
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return crds, nil
		}
		if err != nil {
			return nil, err
		}
		var probe metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, err
		}
		if probe.Kind != "CustomResourceDefinition" {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return nil, err
		}
		crds = append(crds, crd)
	}
}

// Install creates each CRD the cluster of cfg lacks, updates each it has from another
// manifest, and waits until every one is Established. It reports how many it created or
// updated.
func Install(ctx context.Context, cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) (int, error) {
	cs, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	return install(ctx, cs.ApiextensionsV1().CustomResourceDefinitions(), crds)
}

func install(ctx context.Context, c crdclient.CustomResourceDefinitionInterface, crds []*apiextensionsv1.CustomResourceDefinition) (int, error) {
	applied := 0
	for _, crd := range crds {
		changed, err := createOrUpdate(ctx, c, crd)
		if err != nil {
			return applied, fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
		if changed {
			applied++
		}
	}
	for _, crd := range crds {
		if err := waitEstablished(ctx, c, crd.Name); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// createOrUpdate makes the cluster's copy of crd the manifest's, stamped with its digest, and
// reports whether it had to write: a copy with the same digest is left alone.
func createOrUpdate(ctx context.Context, c crdclient.CustomResourceDefinitionInterface, manifest *apiextensionsv1.CustomResourceDefinition) (bool, error) {
	crd, err := stamped(manifest)
	if err != nil {
		return false, err
	}
	existing, err := c.Get(ctx, crd.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, crd, metav1.CreateOptions{})
		return true, err
	case err != nil:
		return false, err
	case existing.Annotations[ManifestDigestAnnotation] == crd.Annotations[ManifestDigestAnnotation]:
		return false, nil
	}
	crd.ResourceVersion = existing.ResourceVersion
	_, err = c.Update(ctx, crd, metav1.UpdateOptions{})
	return true, err
}

// stamped is a copy of manifest annotated with the digest of its content.
func stamped(manifest *apiextensionsv1.CustomResourceDefinition) (*apiextensionsv1.CustomResourceDefinition, error) {
	raw, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	crd := manifest.DeepCopy()
	if crd.Annotations == nil {
		crd.Annotations = map[string]string{}
	}
	crd.Annotations[ManifestDigestAnnotation] = fmt.Sprintf("%x", sha256.Sum256(raw))
	return crd, nil
}

// waitEstablished polls the CRD until its Established condition is true, which is when the
// API server serves its kind.
func waitEstablished(ctx context.Context, c crdclient.CustomResourceDefinitionInterface, name string) error {
	last := "not Established yet"
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, establishTimeout, true, func(ctx context.Context) (bool, error) {
		crd, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil //nolint:nilerr // keep polling; last is reported on timeout
		}
		if established(crd) {
			return true, nil
		}
		last = "not Established yet"
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s: %s: %w (see the API server's log)", name, last, err)
	}
	return nil
}

// established reports whether the API server serves crd's kind.
func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
