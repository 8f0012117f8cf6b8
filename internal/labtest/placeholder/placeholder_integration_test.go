//go:build integration

package placeholder_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
	"github.com/ticketflow-lab/tflab/system/service"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func TestReconnectsWhenItsProxyComesBack(t *testing.T) {
	broker := labtest.SharedBroker(t)
	th, err := toxihost.Start("127.0.0.1:0", labtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	u, err := url.Parse(broker.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	listen, err := th.AddProxy("placeholder-amqp", "127.0.0.1:0", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = listen
	cfg := service.Config{
		System: "ticketflow", Name: "placeholder", Instance: 1,
		AMQPURL: u.String(), HTTPAddr: freeAddr(t),
		Settings: map[string]string{"amqp.reconnect_max": "200ms"},
	}
	stop := run(t, cfg)
	defer stop()

	want := func(connected bool, minConnects int) func() error {
		return func() error {
			code, h, err := getHealth(cfg.HTTPAddr)
			if err != nil {
				return err
			}
			wantCode := http.StatusOK
			if !connected {
				wantCode = http.StatusServiceUnavailable
			}
			if code != wantCode || h.AMQP.Connected != connected || h.OK != connected || h.AMQP.Connects < minConnects {
				return fmt.Errorf("want connected=%v (HTTP %d, connects >= %d), got HTTP %d %+v", connected, wantCode, minConnects, code, h)
			}
			return nil
		}
	}
	labtest.Eventually(t, 10*time.Second, want(true, 1))

	proxy, err := th.Client().Proxy("placeholder-amqp")
	if err != nil {
		t.Fatal(err)
	}
	if err := proxy.Disable(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 10*time.Second, want(false, 1))
	if err := proxy.Enable(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 10*time.Second, want(true, 2))
	if err := stop(); err != nil {
		t.Fatalf("Main after cancel: %v", err)
	}
}
