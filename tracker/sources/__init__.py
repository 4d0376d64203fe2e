"""Where posts come from. Each source is one module; every source yields :class:`Post`."""
