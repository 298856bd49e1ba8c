"""Stand-ins at the hardware boundary only: an NVML module and a powercap sysfs tree.

The project's own NVML and RAPL code runs unchanged against them.
"""
