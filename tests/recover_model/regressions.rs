//! Counterexamples the model found, each as a small explicit scenario.
