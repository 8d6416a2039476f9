package controller

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// configDir is the repository's config/ directory.
func configDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config")
}

// documents splits a YAML file into its documents, skipping empty ones.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// TestConfigYAML parses every YAML file under config/: each document must be a Kubernetes
// object or a kustomization, and each kustomization's resources must exist. `kustomize build
// config/default` (go tool -modfile=hack/tools/go.mod kustomize) checks the rest.
func TestConfigYAML(t *testing.T) {
	root := configDir(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, doc := range documents(t, path) {
			var obj struct {
				APIVersion string   `json:"apiVersion"`
				Kind       string   `json:"kind"`
				Resources  []string `json:"resources"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Errorf("%s document %d: %v", rel, i, err)
				continue
			}
			if obj.APIVersion == "" || obj.Kind == "" {
				t.Errorf("%s document %d has no apiVersion or kind", rel, i)
			}
			if obj.Kind == "Kustomization" {
				for _, res := range obj.Resources {
					if _, err := os.Stat(filepath.Join(filepath.Dir(path), res)); err != nil {
						t.Errorf("%s lists %s: %v", rel, res, err)
					}
				}
			} else if obj.Metadata.Name == "" {
				t.Errorf("%s document %d (%s) has no metadata.name", rel, i, obj.Kind)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGeneratedRBACHasNoWildcards reads the role.yaml that `make generate` writes from the
// markers in rbac.go.
func TestGeneratedRBACHasNoWildcards(t *testing.T) {
	path := filepath.Join(configDir(t), "rbac", "role.yaml")
	var clusterRoles, roles int
	for _, doc := range documents(t, path) {
		var role rbacv1.ClusterRole // a Role has the same rules
		if err := yaml.Unmarshal(doc, &role); err != nil {
			t.Fatal(err)
		}
		switch role.Kind {
		case "ClusterRole":
			clusterRoles++
		case "Role":
			roles++
		}
		if role.Name != "aviary-controller" {
			t.Errorf("%s is named %q, want aviary-controller", role.Kind, role.Name)
		}
		for _, rule := range role.Rules {
			for _, list := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups, rule.ResourceNames, rule.NonResourceURLs} {
				if slices.Contains(list, "*") {
					t.Errorf("%s rule %+v has a wildcard", role.Kind, rule)
				}
			}
			if slices.Contains(rule.Resources, "leases") && role.Kind != "Role" {
				t.Errorf("leases are granted cluster-wide: %+v", rule)
			}
		}
	}
	if clusterRoles != 1 || roles != 1 {
		t.Errorf("%s has %d ClusterRoles and %d Roles, want 1 and 1", path, clusterRoles, roles)
	}
}

// TestDeploymentArgs parses the Deployment's arguments with the controller's own flags, so
// that the manifest and the flags cannot drift apart, and checks the probe and metrics ports.
func TestDeploymentArgs(t *testing.T) {
	path := filepath.Join(configDir(t), "manager", "deployment.yaml")
	var d appsv1.Deployment
	if err := yaml.Unmarshal(documents(t, path)[0], &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "controller" {
		t.Fatalf("args %v do not run `aviary controller`", c.Args)
	}
	o := NewOptions()
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(c.Args[1:]); err != nil {
		t.Fatalf("args %v: %v", c.Args, err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if !o.LeaderElect {
		t.Error("the Deployment runs without leader election")
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["metrics"] != int32(o.MetricsPort) || ports["healthz"] != int32(o.HealthzPort) {
		t.Errorf("container ports %v, flags serve metrics on %d and probes on %d", ports, o.MetricsPort, o.HealthzPort)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("the Deployment does not probe /healthz and /readyz")
	}
	if d.Spec.Template.Spec.ServiceAccountName != "aviary-controller" {
		t.Errorf("service account %q", d.Spec.Template.Spec.ServiceAccountName)
	}
}
