//go:build race

package proxy

// raceEnabled: the race detector slows the proxy's hot path several times
// over, so throughput bounds are not asserted under it.
const raceEnabled = true
