package platformtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
)

// T is a [testing.TB] for code that runs outside a test: Example functions
// and programs such as the quickstart, which have no *testing.T but want
// [NewDB] and the fixtures. Fatal, Fatalf, FailNow and Skip panic with
// their message (an Example cannot skip); Error and Errorf print to
// standard error, and [T.Close] panics after running the cleanups if one
// was called. The other methods of testing.TB are those of the zero
// testing.TB and panic: T is meant for the harness, not for a test body.
//
//	t := platformtest.NewT()
//	defer t.Close()
//	db := platformtest.NewDB(t)
type T struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	failed   bool
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewT returns a T. Call [T.Close] when done.
func NewT() *T {
	t := &T{}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t
}

// Close runs the functions given to Cleanup, last first, and panics if an
// error was reported.
func (t *T) Close() {
	t.cancel()
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	if t.Failed() {
		panic("platformtest: an error was reported (see standard error)")
	}
}

// Cleanup registers f to run at [T.Close].
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// Context is cancelled when [T.Close] begins.
func (t *T) Context() context.Context { return t.ctx }

// Name returns "platformtest.T".
func (t *T) Name() string { return "platformtest.T" }

// Helper does nothing.
func (t *T) Helper() {}

// Log prints its arguments to standard error.
func (t *T) Log(args ...any) { fmt.Fprintln(os.Stderr, args...) }

// Logf prints a formatted line to standard error.
func (t *T) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// Fail marks t as failed: [T.Close] will panic.
func (t *T) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

// Failed reports whether an error was reported.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// Error prints its arguments and marks t as failed.
func (t *T) Error(args ...any) { t.Log(args...); t.Fail() }

// Errorf prints a formatted line and marks t as failed.
func (t *T) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }

// FailNow panics.
func (t *T) FailNow() { t.Fail(); panic("platformtest: FailNow") }

// Fatal panics with its arguments.
func (t *T) Fatal(args ...any) { t.Fail(); panic(fmt.Sprint(args...)) }

// Fatalf panics with a formatted message.
func (t *T) Fatalf(format string, args ...any) { t.Fail(); panic(fmt.Sprintf(format, args...)) }

// Skip panics with its arguments: outside a test nothing can be skipped.
func (t *T) Skip(args ...any) { panic(fmt.Sprint(args...)) }

// Skipf panics with a formatted message.
func (t *T) Skipf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// SkipNow panics.
func (t *T) SkipNow() { panic("platformtest: SkipNow") }

// Skipped reports false.
func (t *T) Skipped() bool { return false }
