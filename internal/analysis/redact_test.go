package analysis

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// TestSecretsAreRedacted: a Secret's value substituted into a web URL never shows in the
// run's status, its Events, the reconciler's logs or its returned error, whether the
// endpoint refuses connections, answers garbage or the metric is invalid.
func TestSecretsAreRedacted(t *testing.T) {
	const token, user = "tok-5f3a9c", "svc-reader"
	html := jsonServer(t, `<html>oops</html>`)
	refused := closedAddress(t)
	creds := secret("creds", map[string]string{"token": token, "user": user})
	args := []v1alpha1.Argument{secretArg("token", "creds", "token"), secretArg("user", "creds", "user")}
	runs := map[string]*v1alpha1.AnalysisRun{
		"refused":  webRun("refused", "http://{{args.user}}:{{args.token}}@"+refused+"/q?token={{args.token}}", "{$.v}", "result > 0", args...),
		"not-json": webRun("not-json", html.URL+"/{{args.token}}/q?user={{args.user}}", "{$.v}", "result > 0", args...),
		"bad-path": webRun("bad-path", html.URL, "{$.{{args.token}}", "result > 0", args...),
		"bad-cond": webRun("bad-cond", html.URL, "{$.v}", `result == "{{args.token}}" &&`, args...),
	}
	objs := []client.Object{creds}
	for _, r := range runs {
		objs = append(objs, r)
	}
	w := newWorld(t, nil, objs...)
	for name := range runs {
		_, _ = w.reconcile(name)
		st := w.run(name).Status
		if !st.Phase.Completed() {
			t.Errorf("%s: the run is %s %q; the test wants it to end in Error", name, st.Phase, st.Message)
		}
		raw, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{token, user} {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s: the status holds the secret %q: %s", name, s, raw)
			}
		}
		if !strings.Contains(string(raw), "***") {
			t.Errorf("%s: the status does not show where a secret was redacted: %s", name, raw)
		}
	}
	for what, text := range map[string]string{"events": w.events(), "logs": w.logs.String()} {
		for _, s := range []string{token, user} {
			if strings.Contains(text, s) {
				t.Errorf("the %s hold the secret %q:\n%s", what, s, text)
			}
		}
	}
}

// TestRedactorForms: a secret is hidden as written, URL-escaped and quoted.
func TestRedactorForms(t *testing.T) {
	r := &redactor{}
	r.add(`p@ss w/"rd`)
	r.add("")
	in := `Get "http://h/q?pw=p%40ss+w%2F%22rd&path=/p@ss%20w%2F%22rd": web.body "p@ss w/\"rd" or p@ss w/"rd`
	want := `Get "http://h/q?pw=***&path=/***": web.body "***" or ***`
	if got := r.String(in); got != want {
		t.Errorf("redacted\n%s\nwant\n%s", got, want)
	}
	if got := (&redactor{}).String(in); got != in {
		t.Errorf("a redactor without secrets changed %q to %q", in, got)
	}
}
