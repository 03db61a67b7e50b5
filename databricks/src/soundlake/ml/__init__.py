"""Hit prediction on gold: features known at release, a windowed target, MLflow tracking."""
