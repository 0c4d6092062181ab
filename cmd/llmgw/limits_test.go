package main

import (
	"strings"
	"testing"
	"time"
)

func TestLimitZone(t *testing.T) {
	for _, tc := range []struct {
		name, want, err string
	}{
		{"", "UTC", ""},
		{"UTC", "UTC", ""},
		{"Europe/Paris", "Europe/Paris", ""},
		{"Mars/Olympus", "", `--limit-tz: unknown time zone "Mars/Olympus"`},
	} {
		loc, err := limitZone(tc.name)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("limitZone(%q) = %v, %v; want error %q", tc.name, loc, err, tc.err)
			}
		case err != nil || loc.String() != tc.want:
			t.Errorf("limitZone(%q) = %v, %v; want %s", tc.name, loc, err, tc.want)
		}
	}
	// A day in Paris starts an hour or two before UTC's.
	loc, _ := limitZone("Europe/Paris")
	if _, off := time.Date(2026, 1, 15, 0, 0, 0, 0, loc).Zone(); off != 3600 {
		t.Errorf("Europe/Paris in January: offset %d, want 3600 (tzdata embedded?)", off)
	}
}
