package rabbitnode

import (
	"os"
	"path/filepath"
	"testing"
)

// portTaken is what makes Start retry a boot with fresh ports: only a node
// that exited and logged a listener it could not bind counts.
func TestPortTakenNeedsAnExitAndABindFailure(t *testing.T) {
	dir := t.TempDir()
	n := &Node{cfg: Config{Dir: dir}, exited: make(chan struct{})}
	if err := os.MkdirAll(n.LogDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(n.LogDir(), "console.log")
	if err := os.WriteFile(log, []byte("BOOT FAILED\n{could_not_start_listener,\"127.0.0.1\",5672,eaddrinuse}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n.portTaken() {
		t.Error("a node still running counts as having lost its port")
	}
	close(n.exited)
	if !n.portTaken() {
		t.Error("an exited node that logged eaddrinuse does not count as having lost its port")
	}
	if err := os.WriteFile(log, []byte("BOOT FAILED\n{error,{bad_config}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n.portTaken() {
		t.Error("a boot that failed for another reason counts as a lost port")
	}
}
