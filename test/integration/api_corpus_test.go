package integration

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/internal/manifests"
	"github.com/aviary-dev/aviary/internal/testenv"
)

func corpus(t *testing.T, name string) []manifests.Case {
	t.Helper()
	cases, err := manifests.Load(filepath.Join(testenv.RepoRoot(), "test", "manifests", name))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func newNamespace(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// place puts a namespaced object into ns; cluster-scoped objects stay as they are.
func place(t *testing.T, obj *unstructured.Unstructured, ns string) {
	t.Helper()
	namespaced, err := env.Client.IsObjectNamespaced(obj)
	if err != nil {
		t.Fatalf("%s is not served by the API server: %v", obj.GetKind(), err)
	}
	if namespaced {
		obj.SetNamespace(ns)
	}
}

// TestValidManifestsRoundTrip creates every valid manifest and reads it back: the API server
// must accept it and return every field exactly as sent — nothing pruned, nothing changed.
func TestValidManifestsRoundTrip(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(ctx, t, "valid")
	cases := corpus(t, "valid")
	if len(cases) < 25 {
		t.Fatalf("the valid corpus has %d manifests; it must keep at least 25", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			sent := c.Object.DeepCopy()
			place(t, sent, ns)
			if err := env.Client.Create(ctx, sent.DeepCopy()); err != nil {
				t.Fatalf("the API server rejected a valid manifest: %v", err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(sent.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sent), got); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"spec", "metadata.labels", "metadata.annotations"} {
				path := strings.Split(field, ".")
				want, _, _ := unstructured.NestedFieldNoCopy(sent.Object, path...)
				have, _, _ := unstructured.NestedFieldNoCopy(got.Object, path...)
				if diff := cmpCanonical(t, want, have); diff != "" {
					t.Errorf("%s changed on the way through the API server (-sent +read back):\n%s", field, diff)
				}
			}
		})
	}
}

// TestInvalidManifestsRejected creates every invalid manifest: each must be refused as
// Invalid with a message that names the offending field.
func TestInvalidManifestsRejected(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(ctx, t, "invalid")
	cases := corpus(t, "invalid")
	if len(cases) < 25 {
		t.Fatalf("the invalid corpus has %d manifests; it must keep at least 25", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Expect == "" || c.Mistake == "" {
				t.Fatalf("%s needs '# expect: <field>' and '# mistake: <what>' header lines", c.Name)
			}
			obj := c.Object.DeepCopy()
			place(t, obj, ns)
			err := env.Client.Create(ctx, obj)
			if err == nil {
				t.Fatalf("the API server accepted a manifest with a mistake (%s)", c.Mistake)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			// One mistake, one field: a complaint about another field means the manifest is
			// wrong in another way too, and no longer tests what it says it tests.
			if fields := causeFields(err); len(fields) != 1 || fields[0] != c.Expect {
				t.Errorf("want a complaint about %s alone, got one about %v:\n%v", c.Expect, fields, err)
			}
			if !strings.Contains(err.Error(), c.Expect) {
				t.Errorf("the message does not name %s:\n%v", c.Expect, err)
			}
			t.Log(err)
		})
	}
}

// causeFields lists the distinct fields an Invalid error complains about. The API server adds
// a field-less cause ("some validation rules were not checked") when schema errors stop CEL
// rules from running; that one names no field and is left out. Its integer range check
// (format: int32) names the field only in its message; that field is taken from there.
func causeFields(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	seen := map[string]bool{}
	var fields []string
	for _, c := range status.Status().Details.Causes {
		f := strings.TrimPrefix(c.Field, ".")
		if f == "" || f == "<nil>" {
			if m := rangeCause.FindStringSubmatch(c.Message); m != nil {
				f = m[1]
			}
		}
		if f == "" || f == "<nil>" || seen[f] {
			continue
		}
		seen[f] = true
		fields = append(fields, f)
	}
	return fields
}

func cmpCanonical(t *testing.T, want, have any) string {
	t.Helper()
	w, err := manifests.Canonical(want)
	if err != nil {
		t.Fatal(err)
	}
	h, err := manifests.Canonical(have)
	if err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(w, h)
}

// rangeCause matches the API server's range error for an integer too large for its format,
// e.g. "Checked value must be of type integer with format int32 in spec.replicas".
var rangeCause = regexp.MustCompile(`must be of type integer with format \w+ in (\S+)$`)
