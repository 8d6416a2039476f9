package replicas

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolveSurgeUnavailable(t *testing.T) {
	i := intstr.FromInt32
	s := intstr.FromString
	tests := []struct {
		name                  string
		replicas              int32
		surge, unavailable    intstr.IntOrString
		wantSurge, wantUnavai int32
	}{
		{"defaults 25%/25% of 10: surge rounds up, unavailable down", 10, s("25%"), s("25%"), 3, 2},
		{"defaults of 4 divide evenly", 4, s("25%"), s("25%"), 1, 1},
		{"defaults of 1", 1, s("25%"), s("25%"), 1, 0},
		{"defaults of 3", 3, s("25%"), s("25%"), 1, 0},
		{"defaults of 100", 100, s("25%"), s("25%"), 25, 25},
		{"plain counts are taken as they are", 10, i(2), i(3), 2, 3},
		{"surge 0 unavailable 1", 5, i(0), i(1), 0, 1},
		{"surge 1 unavailable 0", 5, i(1), i(0), 1, 0},
		{"both 0 counts: unavailable becomes 1 so the update can move", 5, i(0), i(0), 0, 1},
		{"both round to 0: unavailable becomes 1", 3, s("0%"), s("10%"), 0, 1},
		{"surge percentage rounds up from a tiny share", 10, s("1%"), s("0%"), 1, 0},
		{"surge above 100% is allowed and not capped", 4, s("250%"), i(0), 10, 0},
		{"surge count is not capped by replicas", 2, i(5), i(0), 5, 0},
		{"unavailable is capped at replicas", 3, i(0), i(10), 0, 3},
		{"unavailable 100%", 7, i(0), s("100%"), 0, 7},
		{"replicas 0: percentages give 0 and unavailable is capped to 0", 0, s("25%"), s("25%"), 0, 0},
		{"replicas 0 keeps a surge count", 0, i(1), i(1), 1, 0},
		{"negative replicas are treated as 0", -3, s("50%"), s("50%"), 0, 0},
		{"large replica counts do not overflow", 2_000_000_000, s("150%"), s("99%"), 2_147_483_647, 1_980_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			surge, unavailable, err := ResolveSurgeUnavailable(tt.replicas, tt.surge, tt.unavailable)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if surge != tt.wantSurge || unavailable != tt.wantUnavai {
				t.Errorf("got surge %d unavailable %d, want %d and %d", surge, unavailable, tt.wantSurge, tt.wantUnavai)
			}
		})
	}
}

func TestResolveSurgeUnavailableErrors(t *testing.T) {
	ok := intstr.FromString("25%")
	tests := []struct {
		name               string
		surge, unavailable intstr.IntOrString
		wantField          string
	}{
		{"negative surge count", intstr.FromInt32(-1), ok, "maxSurge"},
		{"negative unavailable count", ok, intstr.FromInt32(-2), "maxUnavailable"},
		{"surge without percent sign", intstr.FromString("25"), ok, "maxSurge"},
		{"unavailable not a number", ok, intstr.FromString("a%"), "maxUnavailable"},
		{"negative percentage", intstr.FromString("-5%"), ok, "maxSurge"},
		{"empty string", ok, intstr.FromString(""), "maxUnavailable"},
		{"bare percent sign", intstr.FromString("%"), ok, "maxSurge"},
		{"fractional percentage", ok, intstr.FromString("2.5%"), "maxUnavailable"},
		{"percentage beyond int32", intstr.FromString("99999999999%"), ok, "maxSurge"},
		{"unknown type", intstr.IntOrString{Type: 7}, ok, "maxSurge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ResolveSurgeUnavailable(10, tt.surge, tt.unavailable)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.HasPrefix(err.Error(), tt.wantField+":") {
				t.Errorf("error %q does not name the field %s", err, tt.wantField)
			}
		})
	}
}
