package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

// clientReconnects sums the AMQP reconnects every service instance reports
// on GET /health ("amqp":{"reconnects":N}): the services' own count of
// connections re-established after a loss, for brokers whose management API
// the runner cannot read. An instance without the field, or one that does
// not answer, makes the sum unknown (an error).
func clientReconnects(ctx context.Context, in lab.Info) (float64, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	var sum int64
	var errs []error
	for _, id := range in.IDs() {
		var h struct {
			AMQP *struct {
				Reconnects *int64 `json:"reconnects"`
			} `json:"amqp"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.Services[id].HTTP+"/health", nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
			continue
		}
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s /health: %w", id, err))
		case h.AMQP == nil || h.AMQP.Reconnects == nil:
			errs = append(errs, fmt.Errorf("%s /health reports no amqp.reconnects", id))
		default:
			sum += *h.AMQP.Reconnects
		}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(sum), nil
}
