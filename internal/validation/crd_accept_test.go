package validation

import (
	"io/fs"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/config/crd"
)

// TestEmbeddedCRDsPassTheAPIServersChecks runs the API server's own CRD validation on the
// generated CRDs, CEL cost estimates included, so that a rule over the cost budget fails here
// and not only when a real API server refuses the CRD.
func TestEmbeddedCRDsPassTheAPIServersChecks(t *testing.T) {
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded CRDs: %v", err)
	}
	for _, f := range files {
		raw, err := fs.ReadFile(crd.Bases, f)
		if err != nil {
			t.Fatal(err)
		}
		var v1 apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &v1); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1)
		var internal apiextensions.CustomResourceDefinition
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &internal, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if errs := apiextensionsvalidation.ValidateCustomResourceDefinition(t.Context(), &internal); len(errs) > 0 {
			t.Errorf("%s: the API server would refuse this CRD:\n%v", f, errs.ToAggregate())
		}
	}
}
