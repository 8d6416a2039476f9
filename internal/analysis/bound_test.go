package analysis

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// TestStoredValuesAreBounded: a web endpoint answering 10 MiB and a Prometheus answering
// 100,000 samples leave short values in the status, while the conditions see every byte.
func TestStoredValuesAreBounded(t *testing.T) {
	pad := strings.Repeat("é", (10<<20-64)/2) // just under the web provider's 10 MiB read limit, in two-byte runes
	web := jsonServer(t, `{"data":{"ok":true,"pad":"`+pad+`"}}`)
	samples := make([]string, 100000)
	for i := range samples {
		samples[i] = fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1767268800,"0.99"]}`, i)
	}
	prom := jsonServer(t, `{"status":"success","data":{"resultType":"vector","result":[`+strings.Join(samples, ",")+`]}}`)
	promRun := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "prom"},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "m", SuccessCondition: "len(result) == 100000 && all(result, {# >= 0.95})",
			Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: prom.URL, Query: "up"}},
		}}},
	}
	w := newWorld(t, nil, promRun,
		webRun("web", web.URL, "{$.data}", fmt.Sprintf("result.ok == true && len(result.pad) == %d", utf8.RuneCountInString(pad))))
	for _, name := range []string{"web", "prom"} {
		if _, err := w.reconcile(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st := w.run(name).Status
		if st.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Fatalf("%s: the run is %s %q; the condition should hold on the full value", name, st.Phase, st.Message)
		}
		v := st.MetricResults[0].Measurements[0].Value
		if len(v) > MaxStoredValue || !strings.Contains(v, "… (truncated, ") || !utf8.ValidString(v) {
			t.Errorf("%s: stored value has %d bytes (want at most %d, ending with the truncation marker, valid UTF-8): %.80q…", name, len(v), MaxStoredValue, v)
		}
	}
}

// TestProviderMessagesAreBounded: a failing endpoint whose error would be long leaves a
// bounded message.
func TestProviderMessagesAreBounded(t *testing.T) {
	long := "http://" + closedAddress(t) + "/" + strings.Repeat("a", 64<<10)
	w := newWorld(t, nil, webRun("r", long, "{$.v}", "result > 0"))
	if _, err := w.reconcile("r"); err != nil {
		t.Fatal(err)
	}
	st := w.run("r").Status
	m := st.MetricResults[0].Measurements[0]
	if m.Phase != v1alpha1.AnalysisPhaseError || len(m.Message) > MaxStoredMessage {
		t.Errorf("measurement %s with a %d-byte message; want Error within %d bytes", m.Phase, len(m.Message), MaxStoredMessage)
	}
	if ev := w.events(); len(ev) > 2*MaxStoredMessage {
		t.Errorf("the Event has %d bytes", len(ev))
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 40, "short"},
		{strings.Repeat("a", 40), 40, strings.Repeat("a", 40)},
		{strings.Repeat("a", 60), 40, strings.Repeat("a", 15) + "… (truncated, 60 bytes)"},
		// The cut would split an "é" (2 bytes): it moves back to the rune's start.
		{strings.Repeat("é", 30), 40, strings.Repeat("é", 7) + "… (truncated, 60 bytes)"},
	} {
		got := truncate(tc.in, tc.limit)
		if got != tc.want || len(got) > tc.limit {
			t.Errorf("truncate(%q, %d) = %q (%d bytes), want %q", tc.in, tc.limit, got, len(got), tc.want)
		}
	}
}
