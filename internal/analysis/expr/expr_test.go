package expr

import (
	"math"
	"strings"
	"testing"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func ptrFloat(f float64) *float64 { return &f }

func TestEval(t *testing.T) {
	cases := []struct {
		name      string
		result    any
		condition string
		want      bool
		wantErr   string
	}{
		{"vector index", []float64{0.97}, "result[0] >= 0.95", true, ""},
		{"vector index below", []float64{0.9}, "result[0] >= 0.95", false, ""},
		{"scalar", 0.99, "result >= 0.95", true, ""},
		{"asFloat of string", "0.75", "asFloat(result) > 0.5", true, ""},
		{"asFloat of number", 0.25, "asFloat(result) > 0.5", false, ""},
		{"asInt of string", "42", "asInt(result) == 42", true, ""},
		{"asInt truncates float", 3.9, "asInt(result) == 3", true, ""},
		{"isNaN true", math.NaN(), "isNaN(result)", true, ""},
		{"isNaN false", 1.0, "isNaN(result)", false, ""},
		{"isNaN of vector element", []float64{math.NaN()}, "isNaN(result[0])", true, ""},
		{"isInf", math.Inf(1), "isInf(result)", true, ""},
		{"isNil of nil", nil, "isNil(result)", true, ""},
		{"isNil of nil pointer", (*float64)(nil), "isNil(result)", true, ""},
		{"isNil of value", 1.0, "isNil(result)", false, ""},
		{"default when nil", nil, "default(result, 0) > 1", false, ""},
		{"default when nil, fallback passes", nil, "default(result, 5) > 1", true, ""},
		{"default when set", 3.0, "default(result, 0) > 1", true, ""},
		{"pointer result is dereferenced", ptrFloat(2), "result == 2", true, ""},
		{"len of vector", []float64{1, 2}, "len(result) > 0", true, ""},
		{"len of empty vector", []float64{}, "len(result) > 0", false, ""},
		{"map from web jsonPath", map[string]any{"ok": true}, "result.ok", true, ""},
		{"string equality", "ok", "result == 'ok'", true, ""},
		{"all builtin", []float64{0.99, 0.98}, "all(result, {# > 0.95})", true, ""},
		{"and/or", []float64{0.99}, "result[0] > 0.9 && result[0] < 1", true, ""},
		{"not boolean", 1.0, "result + 1", false, "expected a boolean"},
		{"syntax error", 1.0, "result >=", false, "unexpected token"},
		{"unknown function", 1.0, "foo(result)", false, "unknown name foo"},
		{"asFloat of junk", "abc", "asFloat(result) > 0", false, "not a number"},
		{"index out of range", []float64{}, "result[0] > 1", false, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Eval(tc.result, tc.condition)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Eval(%v, %q) error = %v, want one containing %q", tc.result, tc.condition, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval(%v, %q): %v", tc.result, tc.condition, err)
			}
			if got != tc.want {
				t.Fatalf("Eval(%v, %q) = %v, want %v", tc.result, tc.condition, got, tc.want)
			}
		})
	}
}

func TestAssess(t *testing.T) {
	const (
		ok     = v1alpha1.AnalysisPhaseSuccessful
		failed = v1alpha1.AnalysisPhaseFailed
		inc    = v1alpha1.AnalysisPhaseInconclusive
		errP   = v1alpha1.AnalysisPhaseError
	)
	cases := []struct {
		name             string
		result           any
		success, failure string
		want             v1alpha1.AnalysisPhase
	}{
		{"no conditions succeed", 0.0, "", "", ok},
		{"success only, true", []float64{0.99}, "result[0] >= 0.95", "", ok},
		{"success only, false fails", []float64{0.5}, "result[0] >= 0.95", "", failed},
		{"failure only, true fails", []float64{0.5}, "", "result[0] < 0.9", failed},
		{"failure only, false succeeds", []float64{0.95}, "", "result[0] < 0.9", ok},
		{"both, success", 0.99, "result >= 0.95", "result < 0.9", ok},
		{"both, failure", 0.5, "result >= 0.95", "result < 0.9", failed},
		{"both, neither is inconclusive", 0.92, "result >= 0.95", "result < 0.9", inc},
		{"both true: failure wins", 0.99, "result > 0", "result > 0.5", failed},
		{"bad success expression is an error", 0.99, "result >=", "", errP},
		{"bad failure expression is an error", 0.99, "", "nope(result)", errP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Assess(tc.result, tc.success, tc.failure)
			if got != tc.want {
				t.Fatalf("Assess = %s (%v), want %s", got, err, tc.want)
			}
			if (err != nil) != (tc.want == errP) {
				t.Fatalf("Assess error = %v with phase %s", err, got)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for cond, wantErr := range map[string]bool{
		"":                        false,
		"result[0] >= 0.95":       false,
		"default(result, 0) > 1":  false,
		"isNaN(asFloat(result))":  false,
		"result >= ":              true,
		"unknownFn(result) > 0.1": true,
	} {
		if err := Check(cond); (err != nil) != wantErr {
			t.Errorf("Check(%q) = %v, want error %v", cond, err, wantErr)
		}
	}
}

// FuzzEval: any condition over any of the result shapes providers produce gives a phase or
// an error, never a panic.
func FuzzEval(f *testing.F) {
	for _, seed := range []string{"result[0] >= 0.95", "asFloat(result) > 0.5", "isNaN(result)", "default(result, 0) > 1",
		"len(result) > 0", "asInt(result) == 1", "result.a.b", "all(result, {# > 0})", "1/0 > 1", "result[99]"} {
		f.Add(seed)
	}
	results := []any{nil, 0.5, math.NaN(), []float64{0.9, 1}, "0.7", map[string]any{"a": map[string]any{"b": true}}, true}
	f.Fuzz(func(t *testing.T, condition string) {
		for _, r := range results {
			_, _ = Assess(r, condition, "")
			_ = Check(condition)
		}
	})
}
