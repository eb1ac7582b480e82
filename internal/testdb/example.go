package testdb

import (
	"fmt"
	"os"
	"slices"
	"testing"
)

// exampleTB lets Example functions, which have no *testing.T, use the
// harness: a failure panics (failing the example loudly), cleanups run when
// the returned function is called.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) Errorf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (e *exampleTB) Skip(args ...any)                  { panic(fmt.Sprint(args...)) }
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }

// ForExample is [New] for Example functions: it returns the database, a
// testing.TB for the fixture helpers, and a function to call (deferred) at
// the end of the example.
func ForExample() (*DB, testing.TB, func()) {
	tb := &exampleTB{}
	db := New(tb)
	return db, tb, func() {
		for _, f := range slices.Backward(tb.cleanups) {
			f()
		}
	}
}
