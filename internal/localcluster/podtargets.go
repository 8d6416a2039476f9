package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podTargetsInterval is how often the pod list is read for Prometheus. Pods of the sandbox
// change at human speed; a few seconds' lag is invisible next to a 5 s scrape interval.
const podTargetsInterval = 3 * time.Second

// fileSDGroup is one entry of Prometheus' file_sd format.
type fileSDGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// RunPodTargets writes the pods annotated prometheus.io/scrape=true to output in Prometheus'
// file_sd format until ctx ends. Debian's prometheus is built without kubernetes_sd_configs,
// so the sandbox discovers pods itself.
func RunPodTargets(ctx context.Context, kubeconfig, output string) error {
	cs, err := clientsetFor(kubeconfig)
	if err != nil {
		return err
	}
	var written []byte
	for {
		if pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err == nil {
			data, err := json.MarshalIndent(scrapeGroups(pods.Items), "", "  ")
			if err != nil {
				return err
			}
			if !bytes.Equal(data, written) {
				if err := writeAtomically(output, data); err != nil {
					return err
				}
				written = data
			}
		} else if ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "listing pods: %v\n", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(podTargetsInterval):
		}
	}
}

// scrapeGroups turns running pods that ask to be scraped into file_sd groups, one per pod.
func scrapeGroups(pods []corev1.Pod) []fileSDGroup {
	groups := []fileSDGroup{}
	for i := range pods {
		p := &pods[i]
		a := p.Annotations
		if a["prometheus.io/scrape"] != "true" || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			continue
		}
		port := a["prometheus.io/port"]
		if port == "" {
			continue
		}
		labels := map[string]string{"namespace": p.Namespace, "pod": p.Name}
		if path := a["prometheus.io/path"]; path != "" {
			labels["__metrics_path__"] = path
		}
		if h := p.Labels["rollouts-pod-template-hash"]; h != "" {
			labels["rollouts_pod_template_hash"] = h
		}
		groups = append(groups, fileSDGroup{Targets: []string{p.Status.PodIP + ":" + port}, Labels: labels})
	}
	sort.Slice(groups, func(i, j int) bool {
		return groups[i].Labels["namespace"]+"/"+groups[i].Labels["pod"] < groups[j].Labels["namespace"]+"/"+groups[j].Labels["pod"]
	})
	return groups
}

// writeAtomically renames a complete file into place, so Prometheus never reads half of one.
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".targets-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
