"""Lambda handler code, shipped inside the package as cdk_sagemaker_hosting._lambda."""
