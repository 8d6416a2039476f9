package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestOperationArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // substring of the error; "" means the command got as far as the client
	}{
		{[]string{"promote"}, "usage: aviary promote ROLLOUT_NAME"},
		{[]string{"promote", "a", "b"}, "wrong arguments"},
		{[]string{"promote", "a", "--full"}, ""},
		{[]string{"promote", "a", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"abort"}, "usage: aviary abort ROLLOUT_NAME"},
		{[]string{"abort", "a"}, ""},
		{[]string{"pause", "a"}, ""},
		{[]string{"retry"}, "usage: aviary retry"},
		{[]string{"retry", "rollout"}, "wrong arguments"},
		{[]string{"retry", "rollout", "a"}, ""},
		{[]string{"retry", "ro", "a"}, ""},
		{[]string{"retry", "experiment", "a"}, ""},
		{[]string{"retry", "exp", "a"}, ""},
		{[]string{"restart", "a"}, ""},
		{[]string{"restart", "a", "--in", "10s"}, ""},
		{[]string{"restart", "a", "-i", "5m"}, ""},
		{[]string{"restart", "a", "--in", "soon"}, `invalid --in "soon"`},
		{[]string{"restart", "a", "--in", "-5s"}, "must not be negative"},
		{[]string{"set", "image", "a"}, "wrong arguments"},
		{[]string{"set", "image", "a", "web"}, "expected CONTAINER=IMAGE"},
		{[]string{"set", "image", "a", "web=x=y"}, "expected CONTAINER=IMAGE"},
		{[]string{"set", "image", "a", "=img"}, "expected CONTAINER=IMAGE"},
		{[]string{"set", "image", "a", "web=img:v2"}, ""},
		{[]string{"set", "image", "a", "*=img:v2"}, ""},
		{[]string{"undo", "a"}, ""},
		{[]string{"undo", "a", "--to-revision", "3"}, ""},
		{[]string{"undo", "a", "--to-revision", "x"}, "invalid argument"},
		{[]string{"undo", "a", "--to-revision", "-1"}, "must not be negative"},
		{[]string{"terminate", "analysisrun", "a"}, ""},
		{[]string{"terminate", "ar", "a"}, ""},
		{[]string{"terminate", "experiment", "a"}, ""},
		{[]string{"terminate", "experiment"}, "wrong arguments"},
		{[]string{"create"}, "must specify -f/--filename"},
		{[]string{"create", "x"}, "wrong arguments"},
		{[]string{"create", "-f", "/nonexistent.yaml"}, "no such file"},
		{[]string{"status"}, "wrong arguments"},
		{[]string{"status", "a"}, ""},
		{[]string{"status", "a", "-w=false"}, ""},
		{[]string{"status", "a", "-t", "1s"}, ""},
		{[]string{"status", "a", "-t", "-1s"}, "must not be negative"},
		{[]string{"status", "a", "--timeout", "1"}, "invalid argument"},
		{[]string{"completion"}, "accepts 1 arg"},
		{[]string{"completion", "tcsh"}, "invalid argument"},
	} {
		_, err := runOp(t, tc.args...)
		switch {
		case tc.want == "" && !errors.Is(err, errNoServer):
			t.Errorf("%v: got %v, want the command to reach the client", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, err := runOp(t, "completion", shell)
		if err != nil || !strings.Contains(out, "aviary") {
			t.Errorf("completion %s: %v, %d bytes", shell, err, len(out))
		}
	}
}
