package localcluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestScrapeGroupsTakeAnnotatedRunningPods(t *testing.T) {
	app := map[string]string{"app": "demo", "rollouts-pod-template-hash": "abc"}
	scraped := pod("a", "127.16.0.1", true, 8080, app)
	scraped.Annotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
	unannotated := pod("b", "127.16.0.2", true, 8080, app)
	pending := pod("c", "", false, 8080, app)
	pending.Annotations = scraped.Annotations
	pending.Status.Phase = corev1.PodPending

	got := scrapeGroups([]corev1.Pod{*unannotated, *pending, *scraped})
	if len(got) != 1 {
		t.Fatalf("groups %+v, want only pod a", got)
	}
	g := got[0]
	if g.Targets[0] != "127.16.0.1:8080" || g.Labels["__metrics_path__"] != "/metrics" ||
		g.Labels["pod"] != "a" || g.Labels["rollouts_pod_template_hash"] != "abc" {
		t.Errorf("group %+v", g)
	}
}
