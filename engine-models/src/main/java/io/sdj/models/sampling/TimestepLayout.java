package io.sdj.models.sampling;

/** How each diffusers scheduler family turns (config, steps) into its timesteps (NumPy float64 set-up). */
final class TimestepLayout {
    private TimestepLayout() { }

    static void requireSteps(SchedulerConfig c, int steps) {
        if (steps < 1 || steps > c.numTrainTimesteps()) {
            throw new IllegalArgumentException("number of steps " + steps + " must be in [1, num_train_timesteps = "
                    + c.numTrainTimesteps() + "]");
        }
    }

    /** DDIM / LCM-free integer layout, descending. */
    static int[] ddim(SchedulerConfig c, int steps) {
        requireSteps(c, steps);
        int n = c.numTrainTimesteps();
        int[] t = new int[steps];
        switch (c.timestepSpacing()) {
            case LINSPACE -> {
                double[] l = NumpyMath.linspace(0, n - 1, steps, true);
                for (int i = 0; i < steps; i++) t[i] = (int) NumpyMath.round(l[steps - 1 - i]);
            }
            case LEADING -> {
                int ratio = n / steps;
                for (int i = 0; i < steps; i++) t[i] = (steps - 1 - i) * ratio + c.stepsOffset();
            }
            case TRAILING -> {
                double[] a = NumpyMath.arange(n, 0, -((double) n / steps));
                if (a.length != steps) throw new IllegalStateException("trailing layout gave " + a.length + " timesteps for " + steps + " steps");
                for (int i = 0; i < steps; i++) t[i] = (int) NumpyMath.round(a[i]) - 1;
            }
        }
        requireTrainedTimesteps(c, steps, t);
        return t;
    }

    /**
     * Refuses a layout that reaches past the trained timesteps before any work is done (diffusers fails at the first
     * step with an index error): 'leading' spacing with steps_offset 1 and as many steps as training timesteps
     * starts at timestep n.
     */
    private static void requireTrainedTimesteps(SchedulerConfig c, int steps, int[] t) {
        int n = c.numTrainTimesteps();
        for (int ti : t) {
            if (ti < 0 || ti >= n) {
                int fits = steps - 1;
                while (fits > 1 && !fitsTrainedTimesteps(c, fits)) fits--;
                throw new IllegalArgumentException("number of steps " + steps + " with '" + c.timestepSpacing().key()
                        + "' spacing and steps_offset " + c.stepsOffset() + " reaches timestep " + ti + ", outside the trained [0, "
                        + n + "): use at most " + fits + " steps");
            }
        }
    }

    private static boolean fitsTrainedTimesteps(SchedulerConfig c, int steps) {
        try {
            ddim(c, steps);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** PNDM's base timesteps, ascending (before the PLMS duplication). */
    static int[] pndmAscending(SchedulerConfig c, int steps) {
        int[] desc = ddim(c, steps);
        int[] asc = new int[steps];
        for (int i = 0; i < steps; i++) asc[i] = desc[steps - 1 - i];
        return asc;
    }

    /** Euler-family float timesteps, descending, rounded to float32 as diffusers stores them. */
    static float[] euler(SchedulerConfig c, int steps) {
        requireSteps(c, steps);
        int n = c.numTrainTimesteps();
        float[] t = new float[steps];
        switch (c.timestepSpacing()) {
            case LINSPACE -> {
                double[] l = NumpyMath.linspace(0, n - 1, steps, true);
                for (int i = 0; i < steps; i++) t[i] = (float) l[steps - 1 - i];
            }
            case LEADING -> {
                int ratio = n / steps;
                for (int i = 0; i < steps; i++) t[i] = (float) ((steps - 1 - i) * ratio) + c.stepsOffset();
            }
            case TRAILING -> {
                double[] a = NumpyMath.arange(n, 0, -((double) n / steps));
                if (a.length != steps) throw new IllegalStateException("trailing layout gave " + a.length + " timesteps for " + steps + " steps");
                for (int i = 0; i < steps; i++) t[i] = (float) NumpyMath.round(a[i]) - 1f;
            }
        }
        return t;
    }

    /** DPM-Solver multistep integer timesteps, descending (n + 1 points, the last dropped). */
    static int[] dpm(SchedulerConfig c, int steps, int lastTimestep) {
        requireSteps(c, steps);
        int[] t = new int[steps];
        switch (c.timestepSpacing()) {
            case LINSPACE -> {
                double[] l = NumpyMath.linspace(0, lastTimestep - 1, steps + 1, true);
                for (int i = 0; i < steps; i++) t[i] = (int) NumpyMath.round(l[steps - i]);
            }
            case LEADING -> {
                int ratio = lastTimestep / (steps + 1);
                for (int i = 0; i < steps; i++) t[i] = (steps - i) * ratio + c.stepsOffset();
            }
            case TRAILING -> {
                double ratio = (double) c.numTrainTimesteps() / steps;
                double[] a = NumpyMath.arange(lastTimestep, 0, -ratio);
                if (a.length != steps) throw new IllegalStateException("trailing layout gave " + a.length + " timesteps for " + steps + " steps");
                for (int i = 0; i < steps; i++) t[i] = (int) NumpyMath.round(a[i]) - 1;
            }
        }
        return t;
    }
}
