package events

import (
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

type counted struct{ namespace, name, eventType, reason string }

type fakeCounter struct{ got []counted }

func (f *fakeCounter) IncEvent(namespace, name, eventType, reason string) {
	f.got = append(f.got, counted{namespace, name, eventType, reason})
}

func TestSinkRecordsAndCounts(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	counter := &fakeCounter{}
	sink := NewSink(rec, counter)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"}}

	sink.Event(ro, corev1.EventTypeNormal, "RolloutUpdated", "Rollout updated to revision 2")
	sink.Event(ro, corev1.EventTypeWarning, "RolloutAborted", "Rollout aborted update to revision 2: 100% of errors")

	for _, want := range []string{
		"Normal RolloutUpdated Rollout updated to revision 2",
		"Warning RolloutAborted Rollout aborted update to revision 2: 100% of errors",
	} {
		if got := <-rec.Events; got != want {
			t.Errorf("recorded %q, want %q", got, want)
		}
	}
	wantCounted := []counted{
		{"shop", "checkout", corev1.EventTypeNormal, "RolloutUpdated"},
		{"shop", "checkout", corev1.EventTypeWarning, "RolloutAborted"},
	}
	if len(counter.got) != len(wantCounted) {
		t.Fatalf("counted %v, want %v", counter.got, wantCounted)
	}
	for i := range wantCounted {
		if counter.got[i] != wantCounted[i] {
			t.Errorf("count %d = %v, want %v", i, counter.got[i], wantCounted[i])
		}
	}
}

func TestSinkWithoutCounter(t *testing.T) {
	rec := events.NewFakeRecorder(1)
	NewSink(rec, nil).Event(&v1alpha1.Rollout{}, corev1.EventTypeNormal, "RolloutCompleted", "done")
	if got := <-rec.Events; got != "Normal RolloutCompleted done" {
		t.Errorf("recorded %q", got)
	}
}

func TestSinkTruncatesLongMessages(t *testing.T) {
	rec := events.NewFakeRecorder(1)
	long := strings.Repeat("é", MaxMessageBytes) // two bytes each
	NewSink(rec, nil).Event(&v1alpha1.Rollout{}, corev1.EventTypeWarning, "AnalysisRunFailed", long)
	msg := strings.TrimPrefix(<-rec.Events, "Warning AnalysisRunFailed ")
	if len(msg) > MaxMessageBytes {
		t.Errorf("message is %d bytes, want at most %d", len(msg), MaxMessageBytes)
	}
	if !utf8.ValidString(msg) || !strings.HasSuffix(msg, "...") {
		t.Errorf("message is not valid UTF-8 ending in ...: %q", msg[len(msg)-10:])
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg..."},
		{"ab€€€", 9, "ab€..."}, // € is three bytes: cutting at 6 would split the second one
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
