package localnode

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestContainerLogTailSinceTimestampsLimit(t *testing.T) {
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newContainerLog(func() time.Time { return clock })
	for i := range 5 {
		l.Printf("line %d", i)
		clock = clock.Add(time.Minute)
	}
	ctx := context.Background()
	if got := readAll(t, l.Read(ctx, api.ContainerLogOpts{Tail: 2})); got != "line 3\nline 4\n" {
		t.Errorf("tail 2 = %q", got)
	}
	if got := readAll(t, l.Read(ctx, api.ContainerLogOpts{SinceSeconds: 150})); got != "line 3\nline 4\n" {
		t.Errorf("since 150s = %q", got)
	}
	if got := readAll(t, l.Read(ctx, api.ContainerLogOpts{Tail: 1, Timestamps: true})); got != "2026-11-25T12:04:00Z line 4\n" {
		t.Errorf("timestamps = %q", got)
	}
	if got := readAll(t, l.Read(ctx, api.ContainerLogOpts{LimitBytes: 3})); got != "lin" {
		t.Errorf("limitBytes 3 = %q", got)
	}
}

func TestContainerLogDropsOldestLinesPastTheCap(t *testing.T) {
	l := newContainerLog(time.Now)
	line := strings.Repeat("x", 1000)
	for range 2 * maxLogBytes / 1000 {
		l.Printf("%s", line)
	}
	l.Printf("last")
	got := readAll(t, l.Read(context.Background(), api.ContainerLogOpts{}))
	if len(got) > maxLogBytes || !strings.HasSuffix(got, "last\n") {
		t.Errorf("log is %d bytes (cap %d), ends %q", len(got), maxLogBytes, got[len(got)-10:])
	}
}

func TestContainerLogFollowStreamsUntilTheRunEnds(t *testing.T) {
	l := newContainerLog(time.Now)
	l.Printf("before")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := l.Read(ctx, api.ContainerLogOpts{Follow: true})
	go func() {
		l.Printf("during 1")
		l.Printf("during 2")
		l.Close()
	}()
	if got := readAll(t, r); got != "before\nduring 1\nduring 2\n" {
		t.Errorf("followed %q", got)
	}
}
