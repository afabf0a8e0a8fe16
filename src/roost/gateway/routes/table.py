"""The one endpoint table every route module registers into."""

from roost.gateway.endpoints import EndpointTable

TABLE = EndpointTable()
