// Package crds installs the Gateway API CRDs embedded in package gatewayapi into a cluster, for
// the integration tests (and anyone starting a cluster from nothing).
package crds

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Install creates (or updates) every CustomResourceDefinition in the *.yaml files of fsys and
// waits until each is Established. Other kinds in those files (the ValidatingAdmissionPolicy of
// the safe-upgrades manifest) are skipped: they guard upgrades, not behaviour.
func Install(ctx context.Context, c client.Client, fsys fs.FS) error {
	files, err := fs.Glob(fsys, "*/*.yaml")
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			var probe struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if probe.Kind != "CustomResourceDefinition" {
				continue
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.Unmarshal([]byte(doc), crd); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if err := apply(ctx, c, crd); err != nil {
				return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
			}
			names = append(names, crd.Name)
		}
	}
	for _, n := range names {
		if err := waitEstablished(ctx, c, n); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, c client.Client, crd *apiextensionsv1.CustomResourceDefinition) error {
	err := c.Create(ctx, crd)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	existing := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(crd), existing); err != nil {
		return err
	}
	crd.ResourceVersion = existing.ResourceVersion
	return c.Update(ctx, crd)
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
