#!/usr/bin/env python3
"""The reference deployment: `dev` and `prod`, configured in cdk.json."""

from aws_cdk import App

from stacks import add_compliance_checks, add_reference_stacks

app = App()
add_reference_stacks(app)
add_compliance_checks(app)
app.synth()
