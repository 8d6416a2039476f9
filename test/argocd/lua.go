package argocd

import (
	"encoding/json"
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// run executes a script with obj as its global "obj", as Argo CD does, and returns what the
// script returned.
func run(script string, obj map[string]any) (lua.LValue, error) {
	l := lua.NewState()
	defer l.Close()
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, fmt.Errorf("running Argo CD's script: %w", err)
	}
	return l.Get(-1), nil
}

// toLua converts a JSON value (as unstructured objects hold them) into Lua.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case json.Number:
		f, _ := v.Float64()
		return lua.LNumber(f)
	case map[string]any:
		t := l.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	case []any:
		t := l.NewTable()
		for i, e := range v {
			t.RawSetInt(i+1, toLua(l, e))
		}
		return t
	}
	panic(fmt.Sprintf("argocd: no Lua form for %T", v))
}

// fromLua converts a Lua value back into JSON. Lua has one table type for objects and arrays,
// so an empty table takes the shape the same field had before the script ran.
func fromLua(v lua.LValue, before any) any {
	switch v := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LBool:
		return bool(v)
	case lua.LString:
		return string(v)
	case lua.LNumber:
		if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return float64(v)
	case *lua.LTable:
		return tableFromLua(v, before)
	}
	return nil
}

func tableFromLua(t *lua.LTable, before any) any {
	n := t.Len()
	keys := 0
	t.ForEach(func(lua.LValue, lua.LValue) { keys++ })
	if keys == 0 {
		if _, wasList := before.([]any); wasList {
			return []any{}
		}
		return map[string]any{}
	}
	if n == keys {
		old, _ := before.([]any)
		out := make([]any, n)
		for i := range n {
			var prev any
			if i < len(old) {
				prev = old[i]
			}
			out[i] = fromLua(t.RawGetInt(i+1), prev)
		}
		return out
	}
	old, _ := before.(map[string]any)
	out := map[string]any{}
	t.ForEach(func(k, e lua.LValue) {
		if e != lua.LNil {
			out[k.String()] = fromLua(e, old[k.String()])
		}
	})
	return out
}
