// natsopts prints, as JSON, the options nats-server builds from its command line (`-c nats.conf`):
// it calls the server's own ConfigureOptions (what nats-server's main does before it starts), so
// the server's parser reads the file, not one of ours. Only the settings the project's nats.conf
// writes are printed; the server's Options type keeps most of them out of JSON.
//
//	natsopts -c nats.conf   -> {"server_name": ..., "cluster": {...}, "jetstream": {...}, ...}
//
// A file the server would refuse exits 1 with its message.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

type clusterView struct {
	Name   string   `json:"name"`
	Host   string   `json:"host"`
	Port   int      `json:"port"`
	Routes []string `json:"routes"`
}

type jetStreamView struct {
	Enabled        bool   `json:"enabled"`
	StoreDir       string `json:"store_dir"`
	MaxFileStore   int64  `json:"max_file_store"`
	MaxMemoryStore int64  `json:"max_memory_store"`
}

type view struct {
	ServerName          string        `json:"server_name"`
	Host                string        `json:"host"`
	Port                int           `json:"port"`
	HTTPHost            string        `json:"http_host"`
	HTTPPort            int           `json:"http_port"`
	LameDuckDuration    string        `json:"lame_duck_duration"`
	LameDuckGracePeriod string        `json:"lame_duck_grace_period"`
	Cluster             clusterView   `json:"cluster"`
	JetStream           jetStreamView `json:"jetstream"`
}

func main() {
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	noop := func() {}
	opts, err := server.ConfigureOptions(fs, os.Args[1:], noop, noop, noop)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	routes := []string{}
	for _, u := range opts.Routes {
		routes = append(routes, u.String())
	}
	out := view{
		ServerName: opts.ServerName, Host: opts.Host, Port: opts.Port, HTTPHost: opts.HTTPHost, HTTPPort: opts.HTTPPort,
		LameDuckDuration: opts.LameDuckDuration.String(), LameDuckGracePeriod: opts.LameDuckGracePeriod.String(),
		Cluster: clusterView{Name: opts.Cluster.Name, Host: opts.Cluster.Host, Port: opts.Cluster.Port, Routes: routes},
		JetStream: jetStreamView{Enabled: opts.JetStream, StoreDir: opts.StoreDir,
			MaxFileStore: opts.JetStreamMaxStore, MaxMemoryStore: opts.JetStreamMaxMemory},
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
