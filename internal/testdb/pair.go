package testdb

import (
	"slices"
	"testing"
	"time"
)

// Pair measures the library and its lower bound in the same benchmark
// loop, alternating which goes first, and reports each one's median and
// their ratio (lib-ms, bound-ms, ratio). The benchmark's own ns/op is their
// sum plus any untimed setup and is not the figure to read.
type Pair struct{ lib, bound []time.Duration }

// Run times lib and bound once each, in alternating order.
func (p *Pair) Run(lib, bound func()) {
	timed := func(f func(), into *[]time.Duration) {
		start := time.Now()
		f()
		*into = append(*into, time.Since(start))
	}
	if len(p.lib)%2 == 0 {
		timed(lib, &p.lib)
		timed(bound, &p.bound)
	} else {
		timed(bound, &p.bound)
		timed(lib, &p.lib)
	}
}

// Report reports the medians and their ratio as b's metrics.
func (p *Pair) Report(b *testing.B) {
	median := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2]) / float64(time.Millisecond)
	}
	lib, bound := median(p.lib), median(p.bound)
	b.ReportMetric(lib, "lib-ms")
	b.ReportMetric(bound, "bound-ms")
	b.ReportMetric(lib/bound, "ratio")
}
