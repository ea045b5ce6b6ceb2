//go:build race

package lint

// raceEnabled: the race detector multiplies CPU time; the speed budget
// does not apply.
const raceEnabled = true
