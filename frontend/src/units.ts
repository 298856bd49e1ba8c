// Units and the quantities derived from them: a mirror of greenops_tb/format/units.py.

/** Joules in one kilowatt-hour. */
export const J_PER_KWH = 3.6e6;

/** Mean power in W of `energyKwh` spent over `durationS` (0 for a zero-length interval). */
export const avgPowerW = (energyKwh: number, durationS: number): number =>
  (durationS > 0 ? (energyKwh * J_PER_KWH) / durationS : 0);
