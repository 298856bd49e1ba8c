"""Sinks: where records go (TensorBoard events, CSV), behind one :class:`~greenops_tb.sinks.base.RecordSink`
interface and one :class:`~greenops_tb.sinks.base.SinkFanOut`."""
