@network @errors
Feature: Bad IPAM configurations get libnetwork's answers, and leave no network behind

  # libnetwork's errors are untyped, so dockerd answers them with 500 and its own words
  Scenario Outline: A network create with a bad IPAM config entry
    When I send POST /v1.39/networks/create with JSON:
      """
      {"Name": "<prefix>-ipam", "IPAM": {"Config": [<config>]}}
      """
    Then the status is 500
    And the error message is "<message>"
    When I send GET /v1.39/networks/<prefix>-ipam
    Then the status is 404

    Examples:
      | config                                               | message                                                                                                        |
      | {"Subnet": "10.251.0.0/33"}                          | Invalid subnet 10.251.0.0/33 : invalid CIDR address: 10.251.0.0/33                                             |
      | {"Subnet": "10.251.0.0/16", "Gateway": "xyz"}        | invalid gateway address xyz in Ipam configuration                                                              |
      | {"Subnet": "10.251.0.0/16", "Gateway": "10.9.0.1"}   | failed to allocate gateway (10.9.0.1): Requested address is out of range                                       |
      | {"Subnet": "10.251.0.0/16", "IPRange": "bad"}        | failed to parse pool request for address space "LocalDefault" pool "10.251.0.0/16" subpool "bad": Invalid Address SubPool |

  Scenario Outline: An IPAM config entry without a subnet is refused, not given one
    When I send POST /v1.39/networks/create with JSON:
      """
      {"Name": "<prefix>-ipam", "IPAM": {"Config": [<config>]}}
      """
    Then the status is 500
    And the error message is "Invalid subnet  : invalid CIDR address: "
    When I send GET /v1.39/networks/<prefix>-ipam
    Then the status is 404

    Examples:
      | config                  |
      | null                    |
      | {}                      |
      | {"Gateway": "10.9.0.1"} |
