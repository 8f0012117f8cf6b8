package lab

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy"
)

// ServicePath is where the lab API serves the message-fault API of one
// service instance: <lab_api>/services/<id>/faults and …/evidence (see
// amqpproxy.Proxy.Handler for the routes).
func ServicePath(id string) string { return "/services/" + id }

// MessageFaultsFile is the run directory's JSON-lines record of every
// message fault a proxy applied (one amqpproxy.Event per line, plus the
// instance id), written as the faults happen.
const MessageFaultsFile = "message-faults.jsonl"

// FaultEvent is one line of MessageFaultsFile.
type FaultEvent struct {
	Instance string `json:"instance"`
	amqpproxy.Event
}

// MessageFaults is the path of the message-fault record in the run directory.
func (l Layout) MessageFaults() string { return filepath.Join(l.Logs(), MessageFaultsFile) }

// messageRand is the seeded source of one instance's message proxy: the lab
// seed and the instance id, so two runs with one seed decide alike.
func messageRand(seed int64, id string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// faultLog appends every applied message fault to MessageFaultsFile. Writes
// are rare (one per applied fault) and short, so OnEvent writes directly.
type faultLog struct {
	mu  sync.Mutex
	f   *os.File
	log *slog.Logger
}

func openFaultLog(path string, log *slog.Logger) (*faultLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &faultLog{f: f, log: log}, nil
}

// onEvent returns the amqpproxy OnEvent callback of instance id.
func (fl *faultLog) onEvent(id string) func(amqpproxy.Event) {
	return func(e amqpproxy.Event) {
		b, err := json.Marshal(FaultEvent{Instance: id, Event: e})
		if err != nil {
			return
		}
		fl.mu.Lock()
		defer fl.mu.Unlock()
		if fl.f == nil {
			return
		}
		if _, err := fl.f.Write(append(b, '\n')); err != nil {
			fl.log.Warn("Cannot record a message fault", "file", fl.f.Name(), "err", err)
		}
	}
}

func (fl *faultLog) close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.f == nil {
		return nil
	}
	err := fl.f.Close()
	fl.f = nil
	return err
}

// apiHandler is the lab control API:
//
//	GET  /info                        lab.json's content (Info), as the lab sees it now
//	*    /services/{id}/faults[/{rid}] message-fault rules of instance id's proxy
//	*    /services/{id}/evidence       what that proxy applied
//
// Unknown instances are 404 {"error": ...}.
func (l *Lab) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, _ *http.Request) {
		writeAPIJSON(w, http.StatusOK, l.Info())
	})
	mux.HandleFunc("/services/{id}/", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		p := l.MessageProxy(id)
		if p == nil {
			writeAPIJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no service instance %q in the lab", id)})
			return
		}
		http.StripPrefix(ServicePath(id), p.Handler()).ServeHTTP(w, r)
	})
	return mux
}

func writeAPIJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
