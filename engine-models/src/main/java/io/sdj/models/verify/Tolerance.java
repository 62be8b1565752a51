package io.sdj.models.verify;

/** A pass bound for one float output: max|out − ref| ≤ maxAbs and ‖out − ref‖₂ / ‖ref‖₂ ≤ relL2. */
public record Tolerance(double maxAbs, double relL2) {
    @Override
    public String toString() { return "max_abs ≤ " + maxAbs + ", rel_l2 ≤ " + relL2; }
}
