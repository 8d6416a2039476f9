package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/validation"
)

// finding is one line of lint output: a problem (the API server or the controller would
// reject the object) or a warning (something lint cannot check offline).
type finding struct {
	Object  string // "Rollout/shop", or "document 3" when the document has no kind/name
	Message string // starts with the field path
	Warning bool
}

func (f finding) String(file string) string {
	if f.Warning {
		return fmt.Sprintf("%s: %s: warning: %s", file, f.Object, f.Message)
	}
	return fmt.Sprintf("%s: %s: %s", file, f.Object, f.Message)
}

// lintObject is one decoded document of a file.
type lintObject struct {
	Kind, Name string
	Object     map[string]any     // as written, numbers as int64
	Rollout    *v1alpha1.Rollout  // decoded Rollout, when it passed the CRD rules
	Service    *corev1.Service    // decoded Service
	Deployment *appsv1.Deployment // decoded Deployment (for workloadRef)
	gvk        schema.GroupVersionKind
}

func (l *lintObject) ref() string { return l.Kind + "/" + l.Name }

// fileResult is what lint found in one file.
type fileResult struct {
	File     string
	Objects  []*lintObject
	Findings []finding
}

// Problems counts the findings that are not warnings.
func (r *fileResult) Problems() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Warning {
			n++
		}
	}
	return n
}

func (r *fileResult) add(object, msg string, warning bool) {
	r.Findings = append(r.Findings, finding{Object: object, Message: msg, Warning: warning})
}

// lintFile checks every document of one file: first each object on its own (the API
// server's rules), then the Rollouts against the rest of the file (the controller's rules).
func lintFile(crds *validation.CRDs, name string, raw []byte) fileResult {
	r := fileResult{File: name}
	docs, err := splitDocuments(raw)
	if err != nil {
		r.add("file", err.Error(), true)
		r.Findings[0].Warning = false
		return r
	}
	for i, doc := range docs {
		r.checkDocument(crds, i+1, doc)
	}
	r.checkRollouts()
	return r
}

// splitDocuments decodes each YAML document to a JSON object with whole numbers as int64,
// as the API server decodes a request body; empty documents are skipped.
func splitDocuments(raw []byte) ([]map[string]any, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var docs []map[string]any
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: reading YAML: %w", n, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: not valid YAML: %w", n, err)
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			return nil, fmt.Errorf("document %d: not an object: %w", n, err)
		}
		docs = append(docs, obj)
	}
}

func (r *fileResult) checkDocument(crds *validation.CRDs, n int, obj map[string]any) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	l := &lintObject{Kind: kind, Name: name, Object: obj}
	ref := l.ref()
	if kind == "" || name == "" {
		ref = fmt.Sprintf("document %d", n)
	}
	if apiVersion == "" || kind == "" {
		r.add(ref, "apiVersion and kind must both be set", false)
		return
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		r.add(ref, fmt.Sprintf("apiVersion: Invalid value: %q: %v", apiVersion, err), false)
		return
	}
	l.gvk = gv.WithKind(kind)
	r.Objects = append(r.Objects, l)

	switch {
	case crds.Handles(l.gvk):
		_, problems := crds.Validate(context.Background(), obj)
		for _, p := range problems {
			r.add(ref, p.Message, false)
		}
		if kind == "Rollout" {
			l.Rollout = r.decodeRollout(ref, obj, len(problems) > 0)
		}
	case gv.Group == v1alpha1.GroupVersion.Group:
		r.add(ref, fmt.Sprintf("kind: Unsupported value: %q: %s serves %s", kind, apiVersion, strings.Join(crds.Kinds(), ", ")), false)
	default:
		r.checkBuiltin(ref, l)
	}
}

// checkBuiltin decodes a built-in kind strictly (unknown or duplicate fields, wrong types);
// the API server's own validation of built-in kinds is not available offline.
func (r *fileResult) checkBuiltin(ref string, l *lintObject) {
	scheme := Scheme()
	if !scheme.Recognizes(l.gvk) {
		r.add(ref, fmt.Sprintf("not checked: %s is neither an argoproj.io kind nor a built-in Kubernetes kind", l.gvk.GroupVersion().WithKind(l.Kind)), true)
		return
	}
	raw, err := json.Marshal(l.Object)
	if err != nil {
		r.add(ref, err.Error(), false)
		return
	}
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Strict: true})
	decoded, _, err := strict.Decode(raw, nil, nil)
	if err != nil {
		r.add(ref, err.Error(), false)
		return
	}
	switch obj := decoded.(type) {
	case *corev1.Service:
		l.Service = obj
	case *appsv1.Deployment:
		l.Deployment = obj
	}
}

// decodeRollout decodes a Rollout for the controller's checks. They run even when the CRD
// rules found problems, so that one lint reports every problem of the object at once, as the
// API server reports every field error. A Rollout that then fails to decode is left out
// quietly: its CRD problems already name the fields the decoder trips on. A field the CRD
// rules refuse may be named again in the controller's words; both go with one fix.
func (r *fileResult) decodeRollout(ref string, obj map[string]any, crdProblems bool) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	if err := decodeInto(obj, ro); err != nil {
		if !crdProblems {
			r.add(ref, err.Error(), false)
		}
		return nil
	}
	return ro
}

func decodeInto(obj map[string]any, into any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

// checkRollouts runs the controller's checks (plan.Problems, all of them) on each Rollout that decodes,
// with the Services and Deployments of the same file standing for the cluster's, and warns
// of the steps the controller does not run.
//
// A Service or workloadRef Deployment that is not in the file is not an error: it may well
// exist in the cluster already. It is a warning, and the checks that need it are skipped:
// a stand-in Service selecting every pod takes its place.
func (r *fileResult) checkRollouts() {
	services := map[string]*corev1.Service{}
	deployments := map[string]*appsv1.Deployment{}
	for _, l := range r.Objects {
		if l.Service != nil {
			services[l.Name] = l.Service
		}
		if l.Deployment != nil {
			deployments[l.Name] = l.Deployment
		}
	}
	for _, l := range r.Objects {
		if l.Rollout == nil {
			continue
		}
		r.warnWaitingSteps(l)
		ro := l.Rollout.DeepCopy()
		standInTemplate := false
		if ref := ro.Spec.WorkloadRef; ref != nil {
			if ref.Kind != "" && ref.Kind != "Deployment" {
				r.add(l.ref(), fmt.Sprintf("spec.workloadRef.kind %q is not supported: reference a Deployment", ref.Kind), false)
				continue
			}
			if d, ok := deployments[ref.Name]; ok {
				ro.Spec.Template = d.Spec.Template.DeepCopy()
				if ro.Spec.Selector == nil {
					ro.Spec.Selector = d.Spec.Selector.DeepCopy()
				}
			} else {
				r.add(l.ref(), fmt.Sprintf("spec.workloadRef: Deployment %q is not in this file; it must exist in the cluster", ref.Name), true)
				standInTemplate = true
				ro.Spec.Template = &corev1.PodTemplateSpec{}
				if ro.Spec.Selector == nil {
					ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"aviary.lint/stand-in": "true"}}
				}
				ro.Spec.Template.Labels = ro.Spec.Selector.MatchLabels
			}
		}
		available := map[string]*corev1.Service{}
		for _, sr := range plan.ServiceRefs(ro) {
			if svc, ok := services[sr.Name]; ok && !standInTemplate {
				available[sr.Name] = svc
				continue
			}
			if _, ok := services[sr.Name]; !ok {
				r.add(l.ref(), fmt.Sprintf("%s: Service %q is not in this file; it must exist in the cluster", sr.Field, sr.Name), true)
			}
			available[sr.Name] = &corev1.Service{} // selects every pod: the check is skipped
		}
		for _, msg := range plan.Problems(ro, available) {
			if standInTemplate && strings.HasPrefix(msg, "spec.selector") {
				continue
			}
			r.add(l.ref(), msg, false)
		}
	}
}

// warnWaitingSteps warns of each experiment and plugin step: Aviary has no controller for
// them yet, so the rollout waits at such a step until a human promotes it (see the plan's
// stepDone). The manifest is still valid, hence a warning.
func (r *fileResult) warnWaitingSteps(l *lintObject) {
	c := l.Rollout.Spec.Strategy.Canary
	if c == nil {
		return
	}
	for i, s := range c.Steps {
		field := plan.NotRunKind(s)
		if field == "" {
			continue
		}
		r.add(l.ref(), fmt.Sprintf("spec.strategy.canary.steps[%d].%s: Aviary does not run %s steps yet; the rollout will wait at this step until promoted (kubectl aviary promote)", i, field, field), true)
	}
}
