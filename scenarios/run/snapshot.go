package run

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// DB is one service instance's database file.
type DB = sut.DB

// unsentOutbox counts the outbox rows not relayed yet in every database.
func unsentOutbox(ctx context.Context, dbs []DB) (int, error) {
	total := 0
	var errs []error
	for _, d := range dbs {
		db, err := sut.OpenReadOnly(d.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Instance, err))
			continue
		}
		if ok, err := sut.HasTable(ctx, db, "outbox"); err != nil || !ok {
			db.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Instance, err))
			}
			continue
		}
		var n int
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n)
		db.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s outbox: %w", d.Instance, err))
			continue
		}
		total += n
	}
	return total, errors.Join(errs...)
}
