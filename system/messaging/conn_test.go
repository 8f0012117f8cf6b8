package messaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// connectionStart is an AMQP connection.start frame on channel 0 with empty
// server properties, mechanism PLAIN and locale en_US.
func connectionStart() []byte {
	var p bytes.Buffer
	_ = binary.Write(&p, binary.BigEndian, uint16(10)) // class connection
	_ = binary.Write(&p, binary.BigEndian, uint16(10)) // method start
	p.Write([]byte{0, 9})                              // version 0-9
	_ = binary.Write(&p, binary.BigEndian, uint32(0))  // server properties
	for _, s := range []string{"PLAIN", "en_US"} {
		_ = binary.Write(&p, binary.BigEndian, uint32(len(s)))
		p.WriteString(s)
	}
	var f bytes.Buffer
	f.WriteByte(1)                                    // method frame
	_ = binary.Write(&f, binary.BigEndian, uint16(0)) // channel 0
	_ = binary.Write(&f, binary.BigEndian, uint32(p.Len()))
	f.Write(p.Bytes())
	f.WriteByte(0xCE)
	return f.Bytes()
}

// fakeBroker accepts one connection on loopback, reads the protocol
// header, sends connection.start, reads the client's start-ok and then
// either stalls (until the test ends) or closes the socket.
func fakeBroker(t *testing.T, closeAfterStartOK bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		header := make([]byte, 8)
		if _, err := io.ReadFull(nc, header); err != nil {
			return
		}
		if _, err := nc.Write(connectionStart()); err != nil {
			return
		}
		// start-ok: frame header (7 bytes), then its payload and end byte.
		head := make([]byte, 7)
		if _, err := io.ReadFull(nc, head); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(head[3:]))+1); err != nil {
			return
		}
		if closeAfterStartOK {
			return
		}
		<-done
	}()
	return "amqp://guest:guest@" + ln.Addr().String() + "/"
}

func TestHandshakeCutByDialTimeoutIsRetried(t *testing.T) {
	url := fakeBroker(t, false)
	c, err := newConn(ConnConfig{URL: url, Name: "test", DialTimeout: 300 * time.Millisecond}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.connect(context.Background(), url)
	if !errors.Is(err, errHandshakeTimeout) {
		t.Fatalf("connect to a broker that never sends connection.tune: %v, want %v", err, errHandshakeTimeout)
	}
	if permanent(err) {
		t.Fatalf("a handshake cut off by the dial timeout counts as permanent: %v", err)
	}
}

func TestHandshakeClosedByBrokerStaysPermanent(t *testing.T) {
	url := fakeBroker(t, true)
	c, err := newConn(ConnConfig{URL: url, Name: "test", DialTimeout: 5 * time.Second}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.connect(context.Background(), url)
	if !errors.Is(err, amqp.ErrCredentials) || errors.Is(err, errHandshakeTimeout) {
		t.Fatalf("connect to a broker that closes after start-ok: %v, want %v", err, amqp.ErrCredentials)
	}
	if !permanent(err) {
		t.Fatalf("a broker that drops the socket after start-ok (bad credentials) is not permanent: %v", err)
	}
}
