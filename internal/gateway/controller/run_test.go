package controller

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestGCPercentIsSetUnlessGOGCIs(t *testing.T) {
	previous := debug.SetGCPercent(100)
	defer debug.SetGCPercent(previous)
	o := NewOptions()
	if o.GCPercent != DefaultGCPercent {
		t.Fatalf("default --gc-percent %d, want %d", o.GCPercent, DefaultGCPercent)
	}
	unset := func(string) (string, bool) { return "", false }
	if !o.ApplyGCPercent(unset) {
		t.Fatal("without GOGC the option was not applied")
	}
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("collector target %d after applying --gc-percent, want %d", got, DefaultGCPercent)
	}
	set := func(name string) (string, bool) { return "150", name == "GOGC" }
	if o.ApplyGCPercent(set) {
		t.Error("with GOGC set the option was applied")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("collector target %d with GOGC set, want it left at 100", got)
	}
}

func TestGCPercentMustBePositive(t *testing.T) {
	o := NewOptions()
	o.GCPercent = 0
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "--gc-percent") {
		t.Fatalf("--gc-percent 0: %v, want an error naming the flag", err)
	}
}

func TestTimeoutsMustNotBeNegative(t *testing.T) {
	o := NewOptions()
	o.Limits.SendTimeout = -time.Second
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "--send-timeout") {
		t.Fatalf("--send-timeout -1s: %v, want an error naming the flag", err)
	}
	o.Limits.SendTimeout = 0 // no limit
	if err := o.Validate(); err != nil {
		t.Fatalf("--send-timeout 0: %v", err)
	}
}
