// Package expr evaluates a metric's successCondition and failureCondition the way Argo
// Rollouts does: github.com/expr-lang/expr over an environment holding the measured `result`
// and the helpers asInt, asFloat, isNaN, isInf, isNil and default.
package expr

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Assess turns a measured result into a measurement phase with the metric's conditions:
//   - neither condition: Successful;
//   - only successCondition: Failed when it is false;
//   - only failureCondition: Successful when it is false;
//   - both: Failed when failureCondition holds, Successful when only successCondition holds,
//     Inconclusive when neither does.
//
// An expression that does not compile, fails at run time or is not boolean is an Error.
func Assess(result any, successCondition, failureCondition string) (v1alpha1.AnalysisPhase, error) {
	success, failure := false, false
	var err error
	if successCondition != "" {
		if success, err = Eval(result, successCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Errorf("successCondition %q: %w", successCondition, err)
		}
	}
	if failureCondition != "" {
		if failure, err = Eval(result, failureCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Errorf("failureCondition %q: %w", failureCondition, err)
		}
	}
	switch {
	case successCondition == "" && failureCondition == "":
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case failureCondition == "":
		failure = !success
	case successCondition == "":
		success = !failure
	}
	switch {
	case failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	}
	return v1alpha1.AnalysisPhaseInconclusive, nil
}

// Eval evaluates one condition against result; the condition must yield a bool.
func Eval(result any, condition string) (bool, error) {
	env := environment(result)
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, plain(err)
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, plain(err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected a boolean, but the expression gave %T (%v)", out, out)
	}
	return b, nil
}

// Check compiles a condition without a result, so that a run can reject a malformed
// expression before it takes its first measurement.
func Check(condition string) error {
	if condition == "" {
		return nil
	}
	// Without a result its type is unknown: leave `result` out of the environment and allow
	// it as an undefined (dynamically typed) variable, so only syntax and names are checked.
	env := environment(nil)
	delete(env, "result")
	program, err := expr.Compile(condition, expr.Env(env), expr.AllowUndefinedVariables())
	if err != nil {
		return plain(err)
	}
	// Undefined variables are allowed, so an unknown function name would slip through.
	v := &unknownCalls{known: env}
	ast.Walk(new(program.Node()), v)
	return v.err
}

// unknownCalls finds calls of names that are neither in the environment nor expr builtins
// (builtins have become BuiltinNodes by now).
type unknownCalls struct {
	known map[string]any
	err   error
}

func (v *unknownCalls) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok || v.err != nil {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok {
		if _, known := v.known[id.Value]; !known {
			v.err = fmt.Errorf("unknown function %s (available: asInt, asFloat, isNaN, isInf, isNil, default and expr's builtins)", id.Value)
		}
	}
}

// environment is what a condition can refer to. isNil and default look at the measured result
// whatever their argument says, as in Argo Rollouts, so `isNil(result)` and
// `default(result, 0)` read naturally.
func environment(result any) map[string]any {
	nilResult := isNil(result)
	return map[string]any{
		"result":  deref(result),
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return nilResult },
		"default": func(_ any, fallback any) any {
			if nilResult {
				return fallback
			}
			return deref(result)
		},
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// deref unwraps a pointer result, so that providers may hand over *float64 for "maybe absent".
func deref(v any) any {
	if isNil(v) {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return rv.Elem().Interface()
	}
	return v
}

// asInt converts a number or a numeric string to an integer (truncating floats).
func asInt(in any) (int64, error) {
	switch v := in.(type) {
	case float64:
		return int64(v), nil
	case float32:
		return int64(v), nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case uint:
		return int64(v), nil
	case uint64:
		return int64(v), nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("asInt(%q): not an integer", v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("asInt() does not accept %T (%v)", in, in)
}

// asFloat converts a number or a numeric string to a float.
func asFloat(in any) (float64, error) {
	switch v := in.(type) {
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case int:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("asFloat(%q): not a number", v)
		}
		return f, nil
	}
	return 0, fmt.Errorf("asFloat() does not accept %T (%v)", in, in)
}

// plain drops expr's multi-line source excerpt, keeping the message that fits in a status.
func plain(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Message)
	}
	return err
}
