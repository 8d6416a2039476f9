package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	crds "github.com/aviary-dev/aviary/config/crd"
	gatewayapi "github.com/aviary-dev/aviary/config/gateway-api"
	"github.com/aviary-dev/aviary/internal/crdinstall"
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

// installCRDs installs Aviary's CRDs and the Gateway API's standard channel, and waits until
// the API server serves them.
func (s *Sandbox) installCRDs(ctx context.Context) error {
	t0 := time.Now()
	if err := s.clients(); err != nil {
		return err
	}
	aviary, err := crdinstall.Read(crds.Bases, "bases/*.yaml")
	if err != nil {
		return err
	}
	gw, err := crdinstall.Read(gatewayapi.Standard, "standard/*.yaml")
	if err != nil {
		return err
	}
	all := slices.Concat(aviary, gw)
	applied, err := crdinstall.Install(ctx, s.restCfg, all)
	if err != nil {
		return err
	}
	s.printf("%-24s %d applied, %d up to date, in %s (Aviary's and the Gateway API %s standard channel)\n",
		"CRDs", applied, len(all)-applied, time.Since(t0).Round(100*time.Millisecond), strings.TrimSpace(gatewayapi.Version))
	return nil
}
