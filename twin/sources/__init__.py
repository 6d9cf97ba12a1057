"""Plant-data sources: one interface (:class:`Source` yielding :class:`Frame`), several transports.

* :class:`ReplaySource` – historian files (NetCDF, Zarr, CSV, Parquet; long or wide) at 1×, N× or max speed;
* :class:`OpcUaSource` – live OPC UA subscriptions (asyncua) with reconnect and gap marking;
* :class:`OpcUaSecurity` – the connection's security policy, certificates and user (passwords never
  inline; :func:`mask_url` hides a password in any URL shown);
* :class:`OpcUaWriter` – writes to the plant's OPC UA nodes (a refused write raises :class:`WriteRefused`);
* :class:`MemorySource` – frames from any iterable (tests, the in-process emulator).
"""

from twin.sources._base import Frame, Sample, Source
from twin.sources._memory import MemorySource
from twin.sources._nodes import MissingNode, MissingNodeError
from twin.sources._opcua import OpcUaSource
from twin.sources._opcua_security import OpcUaSecurity, OpcUaSecurityError, mask_url
from twin.sources._opcua_write import OpcUaWriter, WriteRefused
from twin.sources._replay import ReplaySource, read_history

__all__ = ["Frame", "Sample", "Source", "MemorySource", "MissingNode", "MissingNodeError", "OpcUaSource",
           "OpcUaSecurity", "OpcUaSecurityError", "OpcUaWriter", "WriteRefused", "mask_url", "ReplaySource",
           "read_history"]
