"""The engines of the cluster shape: PostgreSQL shard primaries with streaming replicas, and Redis.

``roost cluster up`` runs them on this machine from its installed binaries, into a state folder,
and writes ``cluster.toml`` there, which names every node by host and port (a real deployment uses
the same file with remote addresses). One module per job:

    binaries     where the engines' programs are
    topology     the cluster config file: typed nodes, load/save, DSNs
    layout       the state folder: where each node's files, secrets and PIDs live
    osuser       which OS user runs an engine (PostgreSQL refuses root) and handing it files
    processes    PIDs recorded with their start time; alive, stop
    postgres     one PostgreSQL node: initdb, clone a replica, start, stop, reload, promote
    redis        one Redis node: config, start, stop
    status       what every node reports: role, address, LSN, lag, health
    supervisor   a whole topology: up (idempotent), down, promote a replica
    cli          ``roost cluster up|status|down|promote``
"""
