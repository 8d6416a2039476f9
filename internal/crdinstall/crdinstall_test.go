package crdinstall

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"

	crds "github.com/aviary-dev/aviary/config/crd"
	gatewayapi "github.com/aviary-dev/aviary/config/gateway-api"
)

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
`

const policy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: safe-upgrades
spec: {}
`

// TestReadKeepsOnlyTheCRDs: other kinds and empty documents of a multi-document file are
// skipped, and the files are read in order.
func TestReadKeepsOnlyTheCRDs(t *testing.T) {
	fsys := fstest.MapFS{
		"m/a.yaml": {Data: []byte("---\n" + policy + "---\n" + widgetCRD + "---\n")},
		"m/b.yaml": {Data: []byte(strings.ReplaceAll(widgetCRD, "widgets", "gadgets"))},
		"m/c.txt":  {Data: []byte(widgetCRD)},
	}
	got, err := Read(fsys, "m/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range got {
		names = append(names, crd.Name)
	}
	if strings.Join(names, ",") != "widgets.example.com,gadgets.example.com" {
		t.Errorf("read %v, want widgets.example.com then gadgets.example.com", names)
	}
}

// TestReadRefusesAnUnknownField: a misspelt field fails with the file's name instead of being
// dropped, and a glob without CRDs says what to do.
func TestReadRefusesAnUnknownField(t *testing.T) {
	fsys := fstest.MapFS{"m/a.yaml": {Data: []byte(strings.Replace(widgetCRD, "scope:", "scoop:", 1))}}
	if _, err := Read(fsys, "m/*.yaml"); err == nil || !strings.Contains(err.Error(), "m/a.yaml") || !strings.Contains(err.Error(), "scoop") {
		t.Errorf("Read = %v; want an error naming m/a.yaml and the field scoop", err)
	}
	if _, err := Read(fstest.MapFS{"m/a.yaml": {Data: []byte(policy)}}, "m/*.yaml"); err == nil || !strings.Contains(err.Error(), "make generate") {
		t.Errorf("Read of no CRDs = %v; want an error saying to run make generate", err)
	}
}

// TestReadTheEmbeddedCRDs: the CRDs the sandbox and the tests install decode strictly.
func TestReadTheEmbeddedCRDs(t *testing.T) {
	for _, c := range []struct {
		name string
		read func() ([]*apiextensionsv1.CustomResourceDefinition, error)
	}{
		{"aviary", func() ([]*apiextensionsv1.CustomResourceDefinition, error) { return Read(crds.Bases, "bases/*.yaml") }},
		{"standard", func() ([]*apiextensionsv1.CustomResourceDefinition, error) {
			return Read(gatewayapi.Standard, "standard/*.yaml")
		}},
		{"experimental", func() ([]*apiextensionsv1.CustomResourceDefinition, error) {
			return Read(gatewayapi.Experimental, "experimental/*.yaml")
		}},
	} {
		got, err := c.read()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, crd := range got {
			if crd.Name == "" || len(crd.Spec.Versions) == 0 {
				t.Errorf("%s: a CRD without a name or versions: %+v", c.name, crd.ObjectMeta)
			}
		}
	}
}

func widget(t *testing.T, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	got, err := Read(fstest.MapFS{"a.yaml": {Data: []byte(strings.ReplaceAll(widgetCRD, "widgets", name))}}, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}

// establishOnWrite makes the fake API server mark every CRD it stores Established, as the real
// one does once it serves the kind.
func establishOnWrite(cs *fake.Clientset) {
	mark := func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(interface{ GetObject() runtime.Object }).GetObject().(*apiextensionsv1.CustomResourceDefinition)
		obj.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
		return false, nil, nil
	}
	cs.PrependReactor("create", "customresourcedefinitions", mark)
	cs.PrependReactor("update", "customresourcedefinitions", mark)
}

func writes(cs *fake.Clientset) []string {
	var verbs []string
	for _, a := range cs.Actions() {
		if a.GetVerb() != "get" {
			verbs = append(verbs, a.GetVerb())
		}
	}
	cs.ClearActions()
	return verbs
}

// TestInstallCreatesThenUpdatesOnlyWhatChanged: a first install creates every CRD; the same
// manifests again write nothing; a changed manifest updates that one CRD.
func TestInstallCreatesThenUpdatesOnlyWhatChanged(t *testing.T) {
	cs := fake.NewClientset()
	establishOnWrite(cs)
	c := cs.ApiextensionsV1().CustomResourceDefinitions()
	ctx := t.Context()
	manifests := []*apiextensionsv1.CustomResourceDefinition{widget(t, "widgets"), widget(t, "gadgets")}

	if n, err := install(ctx, c, manifests); err != nil || n != 2 {
		t.Fatalf("first install = %d, %v; want 2 created", n, err)
	}
	if got := writes(cs); strings.Join(got, ",") != "create,create" {
		t.Errorf("first install wrote %v, want two creates", got)
	}
	if manifests[0].Annotations[ManifestDigestAnnotation] != "" {
		t.Error("install stamped the caller's manifest")
	}

	if n, err := install(ctx, c, manifests); err != nil || n != 0 {
		t.Fatalf("second install = %d, %v; want nothing applied", n, err)
	}
	if got := writes(cs); len(got) != 0 {
		t.Errorf("second install of the same manifests wrote %v", got)
	}

	manifests[1].Spec.Names.ShortNames = []string{"gd"}
	if n, err := install(ctx, c, manifests); err != nil || n != 1 {
		t.Fatalf("install after a change = %d, %v; want 1 updated", n, err)
	}
	if got := writes(cs); strings.Join(got, ",") != "update" {
		t.Errorf("install after a change wrote %v, want one update", got)
	}
	stored, err := c.Get(ctx, "gadgets.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Spec.Names.ShortNames) != 1 || stored.Spec.Names.ShortNames[0] != "gd" {
		t.Errorf("stored short names %v, want [gd]", stored.Spec.Names.ShortNames)
	}
}

// TestInstallWaitsUntilEstablished: install returns only once the API server reports the CRD
// Established, and says which CRD it gave up on.
func TestInstallWaitsUntilEstablished(t *testing.T) {
	cs := fake.NewClientset()
	gets := 0
	cs.PrependReactor("get", "customresourcedefinitions", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gets++
		if gets == 4 { // the get before create, then two polls that see it not yet Established
			crd, err := cs.Tracker().Get(a.GetResource(), "", "widgets.example.com")
			if err != nil {
				return true, nil, err
			}
			establishedCopy := crd.(*apiextensionsv1.CustomResourceDefinition).DeepCopy()
			establishedCopy.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
			if err := cs.Tracker().Update(a.GetResource(), establishedCopy, ""); err != nil {
				return true, nil, err
			}
		}
		return false, nil, nil
	})
	c := cs.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := install(t.Context(), c, []*apiextensionsv1.CustomResourceDefinition{widget(t, "widgets")}); err != nil {
		t.Fatal(err)
	}
	if gets != 4 {
		t.Errorf("install returned after %d gets, want 4: it did not wait for Established", gets)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := install(ctx, c, []*apiextensionsv1.CustomResourceDefinition{widget(t, "gadgets")})
	if err == nil || !strings.Contains(err.Error(), "CRD gadgets.example.com: not Established yet") {
		t.Errorf("install of a CRD never Established = %v; want an error naming it", err)
	}
}
