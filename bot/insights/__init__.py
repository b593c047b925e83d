"""What funders and TA staff ask for: reports, knowledge gaps, review dates."""
