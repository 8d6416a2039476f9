package main

import (
	"strings"
	"testing"
	"time"
)

func TestFirstSwapAtIsTheFirstSwapFromTheGivenTime(t *testing.T) {
	log := strings.Join([]string{
		"2026-11-26T11:55:26.100Z\tDEBUG\tgateway\troute table swapped\t{\"sockets\": 1}",
		"2026-11-26T11:55:27.000Z\tDEBUG\tgateway\tStarting workers",
		"not a log line at all",
		"2026-11-26T11:55:27.020Z\tDEBUG\tgateway\troute table swapped\t{\"sockets\": 1}",
		"2026-11-26T11:55:27.090Z\tDEBUG\tgateway\troute table swapped\t{\"sockets\": 1}",
	}, "\n")
	sent := time.Date(2026, 11, 26, 11, 55, 27, 5_400_000, time.UTC)
	got, ok := firstSwapAt(strings.NewReader(log), sent)
	if want := time.Date(2026, 11, 26, 11, 55, 27, 20_000_000, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("firstSwapAt = %v, %v; want %v", got, ok, want)
	}
	if _, ok := firstSwapAt(strings.NewReader(log), sent.Add(time.Second)); ok {
		t.Error("found a swap after the last one")
	}
}

func TestFirstSwapAtCountsASwapInTheMillisecondOfTheUpdate(t *testing.T) {
	log := "2026-11-26T11:55:27.005Z\tDEBUG\tgateway\troute table swapped\t{}"
	if _, ok := firstSwapAt(strings.NewReader(log), time.Date(2026, 11, 26, 11, 55, 27, 5_400_000, time.UTC)); !ok {
		t.Error("a swap logged in the update's own millisecond was not found")
	}
}
