package controller

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&Options{LogLevel: "info", LogFormat: "json"}, &buf)
	log.V(1).Info("Debug detail")
	log.Info("Reconciling Rollout", "rollout", "shop/checkout")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("at info level, got %d lines, want 1 (no debug): %q", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("--logformat=json wrote %q: %v", lines[0], err)
	}
	if entry["msg"] != "Reconciling Rollout" || entry["rollout"] != "shop/checkout" || entry["level"] != "info" {
		t.Errorf("entry %v", entry)
	}

	buf.Reset()
	log = NewLogger(&Options{LogLevel: "debug", LogFormat: "text"}, &buf)
	log.V(1).Info("Debug detail", "key", "value")
	if out := buf.String(); !strings.Contains(out, "Debug detail") || strings.HasPrefix(out, "{") {
		t.Errorf("--loglevel=debug --logformat=text wrote %q", out)
	}

	buf.Reset()
	log = NewLogger(&Options{LogLevel: "error", LogFormat: "text"}, &buf)
	log.Info("Quiet")
	if buf.Len() != 0 {
		t.Errorf("--loglevel=error wrote info: %q", buf.String())
	}
}
