package localcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	crds "github.com/aviary-dev/aviary/config/crd"
	gatewayapi "github.com/aviary-dev/aviary/config/gateway-api"
)

// fieldManager owns what the sandbox applies.
const fieldManager = "aviary-local"

// decodeManifests splits YAML documents into objects, skipping empty documents.
func decodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(raw) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: raw})
	}
}

// manifestsIn reads every *.yaml file of fsys matching the glob.
func manifestsIn(fsys fs.FS, glob string, skip func(name string) bool) ([]*unstructured.Unstructured, error) {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, name := range names {
		if skip != nil && skip(path.Base(name)) {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		docs, err := decodeManifests(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		objs = append(objs, docs...)
	}
	return objs, nil
}

// apply server-side applies objects in order, finding each kind's resource by discovery.
func (s *Sandbox) apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	if err := s.clients(); err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(s.cs.Discovery()))
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: the API server does not serve this kind: %w", gvk.Kind, obj.GetName(), err)
		}
		ri := s.dyn.Resource(mapping.Resource)
		var err2 error
		if mapping.Scope.Name() == "namespace" {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			_, err2 = ri.Namespace(ns).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		} else {
			_, err2 = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		}
		if err2 != nil {
			return fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err2)
		}
	}
	return nil
}

// installCRDs applies Aviary's CRDs and the Gateway API's standard channel, and waits until
// the API server serves them. The Gateway API's ValidatingAdmissionPolicy that guards
// against mixing channels is left out: it is not a CRD, and it would only stop a later
// install of the experimental channel.
func (s *Sandbox) installCRDs(ctx context.Context) error {
	t0 := time.Now()
	aviary, err := manifestsIn(crds.Bases, "bases/*.yaml", nil)
	if err != nil {
		return err
	}
	gw, err := manifestsIn(gatewayapi.Standard, "standard/*.yaml", func(name string) bool {
		return strings.Contains(name, "vap_")
	})
	if err != nil {
		return err
	}
	objs := slices.Concat(aviary, gw)
	changed, err := s.changedCRDs(ctx, objs)
	if err != nil {
		return err
	}
	if err := s.apply(ctx, changed); err != nil {
		return fmt.Errorf("installing CRDs: %w", err)
	}
	for _, obj := range objs {
		if err := s.waitEstablished(ctx, obj.GetName()); err != nil {
			return err
		}
	}
	s.printf("%-24s %d applied, %d up to date, in %s (Aviary's and the Gateway API %s standard channel)\n",
		"CRDs", len(changed), len(objs)-len(changed), time.Since(t0).Round(100*time.Millisecond), strings.TrimSpace(gatewayapi.Version))
	return nil
}

// crdHashAnnotation records the digest of the manifest a CRD was applied from, so that a
// second up skips the CRDs that have not changed: applying all of them takes seconds.
const crdHashAnnotation = "aviary.dev/local-manifest-sha256"

// changedCRDs stamps each CRD with its manifest's digest and returns those the cluster does
// not have with that digest.
func (s *Sandbox) changedCRDs(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	if err := s.clients(); err != nil {
		return nil, err
	}
	gvr := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	var changed []*unstructured.Unstructured
	for _, obj := range objs {
		raw, err := json.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		digest := fmt.Sprintf("%x", sha256.Sum256(raw))
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[crdHashAnnotation] = digest
		obj.SetAnnotations(annotations)
		cur, err := s.dyn.Resource(gvr).Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err == nil && cur.GetAnnotations()[crdHashAnnotation] == digest {
			continue
		}
		changed = append(changed, obj)
	}
	return changed, nil
}

func (s *Sandbox) waitEstablished(ctx context.Context, name string) error {
	gvr := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := s.dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil //nolint:nilerr // keep polling; last is reported on timeout
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return false, err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		last = "not Established yet"
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s: %s: %w", name, last, err)
	}
	return nil
}
