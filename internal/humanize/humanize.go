// Package humanize formats durations for people, as trackerctl and the console print them.
package humanize

import (
	"fmt"
	"time"
)

// Duration formats d with its two largest units: 45s, 3m05s, 2h07m, 3d04h; under a second
// but not zero, in milliseconds (450ms); a negative d with a leading minus.
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + Duration(-d)
	case d > 0 && d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// Since says how long before now t is ("3m05s ago"), or after it ("in 14m00s").
func Since(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + Duration(-d)
	}
	return Duration(d) + " ago"
}
