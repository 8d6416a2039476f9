// Package validation checks argoproj.io objects offline with the rules the API server applies
// to them: the OpenAPI schemas and the CEL x-kubernetes-validations of the generated CRDs,
// which are embedded in the binary, run through the API server's own validation code.
package validation

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/config/crd"
)

// The API server's CEL limits (k8s.io/apiserver/pkg/apis/cel: PerCallLimit and
// RuntimeCELCostBudget), repeated so that a rule too expensive for the server fails here too.
const (
	celPerCallLimit = 1000000
	celCostBudget   = 10000000
)

// Problem is one reason an object would be rejected: Field is its path ("spec.replicas"),
// Message the whole error as the API server words it, field path included.
type Problem struct {
	Field   string
	Message string
}

// CRDs validates objects of the kinds the embedded CRDs define.
type CRDs struct {
	kinds map[schema.GroupVersionKind]*kind
}

type kind struct {
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// Load reads the CRDs embedded in the binary (config/crd/bases). Compiling their schemas and
// CEL rules takes a good fraction of a second, and the result never changes, so it is done once
// per process; the CRDs are only read afterwards.
func Load() (*CRDs, error) { return loadEmbedded() }

var loadEmbedded = sync.OnceValues(func() (*CRDs, error) { return LoadFS(crd.Bases, "bases") })

// LoadFS reads every *.yaml CRD in dir of fsys.
func LoadFS(fsys fs.FS, dir string) (*CRDs, error) {
	files, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	c := &CRDs{kinds: map[schema.GroupVersionKind]*kind{}}
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &def); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.add(&def); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	if len(c.kinds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", dir)
	}
	return c, nil
}

func (c *CRDs) add(def *apiextensionsv1.CustomResourceDefinition) error {
	for _, v := range def.Spec.Versions {
		if v.Schema == nil || !v.Served {
			continue
		}
		internal := &apiextensions.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, internal, nil); err != nil {
			return fmt.Errorf("converting the %s schema: %w", v.Name, err)
		}
		structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("the %s schema is not structural: %w", v.Name, err)
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("the %s schema: %w", v.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: def.Spec.Group, Version: v.Name, Kind: def.Spec.Names.Kind}
		c.kinds[gvk] = &kind{
			namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped,
			structural: structural,
			schema:     validator,
			cel:        cel.NewValidator(structural, true, celPerCallLimit),
		}
	}
	return nil
}

// Handles reports whether gvk is one of the embedded CRDs' kinds.
func (c *CRDs) Handles(gvk schema.GroupVersionKind) bool {
	_, ok := c.kinds[gvk]
	return ok
}

// Kinds lists the kinds the CRDs define, sorted.
func (c *CRDs) Kinds() []string {
	var out []string
	for gvk := range c.kinds {
		out = append(out, gvk.Kind)
	}
	sort.Strings(out)
	return out
}

// Validate checks obj as the API server checks a create request for it, after decoding it the
// way the server does (unknown fields pruned, nulls dropped, schema defaults applied). Unlike
// the server's default, unknown fields are problems, as with kubectl's --validate=strict: a
// misspelt field is silently dropped otherwise. It returns the object as the server would
// store it (pruned and defaulted) and the problems, nil when the object is valid.
func (c *CRDs) Validate(ctx context.Context, obj map[string]any) (map[string]any, []Problem) {
	u, err := normalise(obj)
	if err != nil {
		return obj, []Problem{{Field: "", Message: "not a JSON object: " + err.Error()}}
	}
	apiVersion, _ := u["apiVersion"].(string)
	kindName, _ := u["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return u, []Problem{{Field: "apiVersion", Message: fmt.Sprintf("apiVersion: Invalid value: %q: %v", apiVersion, err)}}
	}
	k, ok := c.kinds[gv.WithKind(kindName)]
	if !ok {
		return u, []Problem{{Field: "kind", Message: fmt.Sprintf("kind: Unsupported value: %s/%s: not a kind of the Aviary CRDs", apiVersion, kindName)}}
	}

	var problems []Problem
	addErrs := func(errs field.ErrorList) {
		for _, e := range errs {
			problems = append(problems, Problem{Field: e.Field, Message: e.Error()})
		}
	}
	var unknown []string

	// Decoding: as the API server's schemaCoercingDecoder does.
	meta, _, metaUnknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return u, []Problem{{Field: "metadata", Message: "metadata: Invalid value: " + err.Error()}}
	}
	unknown = append(unknown, metaUnknown...)
	unknown = append(unknown, structuralpruning.PruneWithOptions(u, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u, k.structural)
	if err, paths := schemaobjectmeta.CoerceWithOptions(nil, u, k.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true}); err != nil {
		addErrs(field.ErrorList{err})
	} else {
		unknown = append(unknown, paths...)
	}
	structuraldefaulting.Default(u, k.structural)
	sort.Strings(unknown)
	for _, p := range unknown {
		problems = append(problems, Problem{Field: p, Message: fmt.Sprintf("%s: unknown field %q", p, p)})
	}

	// Metadata, as the generic registry checks it; the namespace comes from the cluster
	// side (-n, or the kubeconfig) so a missing one is not held against the object.
	if meta != nil {
		m := meta.DeepCopy()
		if k.namespaced && m.Namespace == "" {
			m.Namespace = metav1.NamespaceDefault
		}
		addErrs(apimachineryvalidation.ValidateObjectMeta(m, k.namespaced, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata")))
	}

	// Validation: as customResourceStrategy.Validate does.
	var errs field.ErrorList
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u, k.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u, k.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, k.structural, u)...)
	if blocking(errs) {
		// The API server skips the CEL rules then, and so do we: they would only repeat
		// the type errors in other words. Like the server, say that more may follow.
		addErrs(errs)
		return u, append(problems, celSkipped)
	}
	celErrs, _ := k.cel.Validate(ctx, nil, k.structural, u, nil, celCostBudget)
	errs = append(errs, celErrs...)
	addErrs(errs)
	return u, problems
}

// normalise copies obj the way the API server decodes a request body: whole numbers as int64
// (YAML decoders give float64), which the schema and CEL type checks depend on.
func normalise(obj map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// celSkipped is the API server's note that the CEL rules were not run (hasBlockingErr), so
// that a user who fixes the errors listed is not surprised by new ones.
var celSkipped = Problem{Message: "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"}

// blocking mirrors the API server's hasBlockingErr: errors after which CEL rules are not run.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// String renders problems one per line, for tests and logs.
func String(problems []Problem) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.Message
	}
	return strings.Join(lines, "\n")
}
