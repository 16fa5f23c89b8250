"""SageMaker Neo compilation jobs run once per input, as a step of the deploy."""
